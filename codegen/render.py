"""IntegerModel -> a folder of C99 sources that run it: the generated model (weights defined once
in ``ecqx_model_data.c``, declared in ``ecqx_model_data.h``; the runner ``ecqx_model.c`` with
its API header ``ecqx_model.h``; the build configuration ``ecqx_config.h``), the static
kernels it calls and, for a model trained on the fixed-point MFCC, the front end (its tables
in ``ecqx_frontend_data.{h,c}``, its kernels from ``kernels/frontend/``). Every generated file
comes from a small Jinja template in ``templates/``."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np

from ecqx import __version__
from ecqx.codegen.frontend import frontend_context
from ecqx.codegen.plan import Plan, plan
from ecqx.integer.model import IntegerModel
from ecqx.integer.recognize import RecognizerParams

HERE = Path(__file__).parent
KERNELS = HERE / "kernels"
TEMPLATES = HERE / "templates"
# generated files, each from TEMPLATES / (name + ".j2")
GENERATED = ("ecqx_config.h", "ecqx_model_data.h", "ecqx_model_data.c", "ecqx_model.h",
             "ecqx_model.c")  # fmt: skip
FRONTEND_GENERATED = ("ecqx_frontend_data.h", "ecqx_frontend_data.c")
FRONTEND_KERNELS = KERNELS / "frontend"
API_HEADER = "ecqx_model.h"
# per-layer facts of the returned summary (firmware_report.json, the export report)
SUMMARY_KEYS = ("index", "rows", "cols", "bits", "format", "weight_bytes", "dead_units_dropped")


@dataclass
class CSources:
    """What ``render`` wrote, and from which plan."""

    folder: Path
    files: list[Path]
    plan: Plan

    def summary(self) -> dict:
        return {
            "identity": self.plan.spec.identity(),
            "layers": [{k: ly[k] for k in SUMMARY_KEYS} for ly in self.plan.layers],
            "weight_bytes": self.plan.weight_bytes,
        }


def template_env(folder: Path = TEMPLATES) -> jinja2.Environment:
    """The Jinja settings of every generated file."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def context(p: Plan, stream: RecognizerParams | None = None) -> dict:
    """The values every template may print."""
    m = p.model
    fe = frontend_context(p.spec, stream)
    sparse_acc = 4 * p.max_sparse_rows if p.needs_accumulators else 0
    return fe | {
        "infer_ram": 2 * p.max_width + sparse_acc,
        "frontend_ram": frontend_scratch_bytes(fe["frontend"]) if fe["frontend"] else 0,
        "version": __version__,
        "identity": p.spec.identity(),
        "rounding": m.rounding,
        "in_features": m.in_features,
        "num_classes": m.num_classes,
        "input_scale": float(np.float32(m.input_scale)),  # the float32 the reference divides by
        "output_scale": m.output_scale,
        "labels": ",\n".join('    "' + label.replace('"', "") + '"' for label in m.labels),
        "max_width": p.max_width,
        "max_sparse_rows": p.max_sparse_rows,
        "needs_accumulators": p.needs_accumulators,
        "layers": p.layers,
    }


def frontend_scratch_bytes(fe: dict) -> int:
    """Bytes of ecqx_frontend_scratch (ECQX_FRONTEND_SCRATCH_WORDS), in int64 units."""
    half = fe["fft_len"] // 2
    words = 2 * half + 2 * (half + 1) + fe["mels"]
    if fe["cmn"]:  # the window's coefficients wait there for their means
        words += fe["frames"] * fe["coeffs"]
    return (words + 1) // 2 * 8


def render(model: IntegerModel, out_dir: Path, weights: str | list[str] = "auto",
           stream: RecognizerParams | None = None) -> CSources:  # fmt: skip
    """Write the generated and static C files of ``model`` into ``out_dir`` (``stream``: the
    streaming recognizer's settings, default ``RecognizerParams()``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    p = plan(model, weights)
    env, ctx = template_env(), context(p, stream)
    files = []
    generated = GENERATED + (FRONTEND_GENERATED if ctx["frontend"] else ())
    for name in generated:
        (out_dir / name).write_text(env.get_template(name + ".j2").render(**ctx))
        files.append(out_dir / name)
    static = [f for f in KERNELS.iterdir() if f.is_file()]
    if ctx["frontend"]:
        static += list(FRONTEND_KERNELS.iterdir())
    for src in sorted(static):
        files.append(Path(shutil.copy(src, out_dir / src.name)))
    return CSources(out_dir, files, p)

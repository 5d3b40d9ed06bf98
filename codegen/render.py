"""IntegerModel -> a folder of C99 sources that run it: the generated model (weights defined once
in ``ecqx_model_data.c``, declared in ``ecqx_model_data.h``; the runner ``ecqx_model.c`` with
its API header ``ecqx_model.h``; the build configuration ``ecqx_config.h``) and the static
kernels it calls. Every generated file comes from a small Jinja template in ``templates/``."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import jinja2

from ecqx import __version__
from ecqx.codegen.plan import Plan, plan
from ecqx.integer.model import IntegerModel

HERE = Path(__file__).parent
KERNELS = HERE / "kernels"
TEMPLATES = HERE / "templates"
# generated files, each from TEMPLATES / (name + ".j2")
GENERATED = ("ecqx_config.h", "ecqx_model_data.h", "ecqx_model_data.c", "ecqx_model.h",
             "ecqx_model.c")  # fmt: skip
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


def template_env() -> jinja2.Environment:
    """The Jinja settings of every generated C file."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def context(p: Plan) -> dict:
    """The values every template may print."""
    m = p.model
    return {
        "version": __version__,
        "identity": p.spec.identity(),
        "rounding": m.rounding,
        "in_features": m.in_features,
        "num_classes": m.num_classes,
        "input_scale": m.input_scale,
        "output_scale": m.output_scale,
        "labels": ",\n".join('    "' + label.replace('"', "") + '"' for label in m.labels),
        "max_width": p.max_width,
        "max_sparse_rows": p.max_sparse_rows,
        "layers": p.layers,
    }


def render(model: IntegerModel, out_dir: Path, weights: str | list[str] = "auto") -> CSources:
    """Write the generated and static C files of ``model`` into ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    p = plan(model, weights)
    env, ctx = template_env(), context(p)
    files = []
    for name in GENERATED:
        (out_dir / name).write_text(env.get_template(name + ".j2").render(**ctx))
        files.append(out_dir / name)
    for src in sorted(KERNELS.iterdir()):
        files.append(Path(shutil.copy(src, out_dir / src.name)))
    return CSources(out_dir, files, p)

"""IntegerModel -> a C99 inference kernel: the weight header (export/c_headers), the model
runner rendered from Jinja templates, and the static kernel files it calls."""

from __future__ import annotations

import shutil
from pathlib import Path

from ecqx import __version__
from ecqx.export import c_headers
from ecqx.integer.model import IntegerModel

HERE = Path(__file__).parent
KERNELS = HERE / "kernels"
# per-layer facts of the returned summary (firmware_report.json)
SUMMARY_KEYS = ("index", "rows", "cols", "bits", "format", "weight_bytes", "dead_units_dropped")


def render(model: IntegerModel, out_dir: Path, weights: str | list[str] = "auto") -> dict:
    """Write the generated and static C files into ``out_dir``; return the layer summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    _, layers = c_headers.export(model, out_dir, weights)
    env = c_headers.template_env(HERE / "templates")
    ctx = {
        "version": __version__,
        "identity": model.identity(),
        "in_features": model.in_features,
        "num_classes": model.num_classes,
        "max_width": c_headers.buffer_width(model.in_features, layers),
        "layers": layers,
    }
    for name in ("ecqx_model.c", "ecqx_model.h"):
        (out_dir / name).write_text(env.get_template(name + ".j2").render(**ctx))
    for src in sorted(KERNELS.iterdir()):
        shutil.copy(src, out_dir / src.name)
    return {
        "identity": model.identity(),
        "layers": [{k: ly[k] for k in SUMMARY_KEYS} for ly in layers],
        "weight_bytes": sum(ly["weight_bytes"] for ly in layers),
    }

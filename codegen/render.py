"""IntegerModel -> a C99 inference kernel: the weight header (export/c_headers), the model
runner rendered from Jinja templates, and the static kernel files it calls."""

from __future__ import annotations

import shutil
from pathlib import Path

import jinja2

from ecqx import __version__
from ecqx.export import c_headers
from ecqx.integer.model import IntegerModel

HERE = Path(__file__).parent
KERNELS = HERE / "kernels"
GENERATED = ("ecqx_model.c", "ecqx_model.h", c_headers.HEADER)


def kernel_sources() -> list[Path]:
    return sorted(KERNELS.glob("*.c"))


def render(model: IntegerModel, out_dir: Path, weights: str | list[str] = "auto") -> dict:
    """Write the generated and static C files into ``out_dir``; return the layer summary."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    header, layers = c_headers.render(model, weights)
    (out_dir / c_headers.HEADER).write_text(header)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(HERE / "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    ctx = {
        "version": __version__,
        "identity": model.identity(),
        "in_features": model.in_features,
        "num_classes": model.num_classes,
        "max_width": max([model.in_features] + [ly.shape[0] for ly in model.layers]),
        "layers": layers,
    }
    for name in ("ecqx_model.c", "ecqx_model.h"):
        (out_dir / name).write_text(env.get_template(name + ".j2").render(**ctx))
    for src in sorted(KERNELS.iterdir()):
        shutil.copy(src, out_dir / src.name)
    return {
        "identity": model.identity(),
        "layers": [
            {k: ly[k] for k in ("index", "rows", "cols", "bits", "format", "weight_bytes")}
            for ly in layers
        ],
        "weight_bytes": sum(ly["weight_bytes"] for ly in layers),
    }

"""IntegerModel -> one C header of ``static const`` arrays (flash on a microcontroller).

Per layer the weights are either centroid-grouped sparse ("sparse") or dense packed ("dense"),
see ``sparse_format``; ``choose`` picks the smaller unless forced. Biases are int32, the
requantization a multiplier/shift pair. ``layer_sizes`` reports every encoding's bytes.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import numpy as np

from ecqx import __version__
from ecqx.export.choices import WEIGHT_FORMATS
from ecqx.export.sparse_format import (
    descriptors,
    encode_sparse,
    pack_dense,
    storage_bits,
    window_order,
)
from ecqx.integer.equivalent import drop_dead_units, permute_units
from ecqx.integer.model import IntegerModel, IntLayer

FORMATS = WEIGHT_FORMATS

# Instructions per unit of work on the emulated Cortex-M4, from bench_firmware.py --profile:
# the sparse kernel per non-zero weight, per group (descriptor, table branch, loop test,
# multiply) and per row (store, requantize); the dense kernel per weight by field width.
SPARSE_COST = {"nonzero": 3.0, "group": 16.0, "row": 14.0}
DENSE_COST_PER_WEIGHT = {8: 1.95, 4: 2.35, 2: 2.95}
DENSE_COST_PER_ROW = 14.0
HEADER = "ecqx_model_data.h"
CONFIG = "ecqx_config.h"  # the rounding, included by the kernels and by HEADER


def template_env(folder: Path) -> jinja2.Environment:
    """The Jinja settings of every generated C file (templates in ``folder``)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(folder),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )


def c_array(values: np.ndarray, per_line: int = 16, hex_width: int = 0) -> str:
    flat = np.asarray(values).flatten().tolist()
    vals = (
        [f"0x{int(v):0{hex_width}X}u" for v in flat] if hex_width else [str(int(v)) for v in flat]
    )
    lines = [", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]
    return ",\n".join("    " + ln for ln in lines)


def layer_sizes(ly: IntLayer) -> dict[str, int]:
    """Weight bytes of every encoding (bias and requantization constants excluded)."""
    return {
        "sparse": encode_sparse(ly.codes).nbytes,
        "dense_packed": int(pack_dense(ly.codes, ly.bits).nbytes),
        "dense_int8": int(ly.codes.size),
    }


def estimated_instructions(ly: IntLayer, fmt: str) -> float:
    """Instructions one inference spends in this layer with encoding ``fmt`` (Cortex-M4 cost
    model; the benchmark measures the real count)."""
    rows, cols = ly.shape
    if fmt == "sparse":
        c = SPARSE_COST
        nz = int((ly.codes != 0).sum())
        return c["nonzero"] * nz + c["group"] * encode_sparse(ly.codes).groups + c["row"] * rows
    width = 8 if fmt == "int8" else storage_bits(ly.bits, ly.code_range[1])
    return (DENSE_COST_PER_WEIGHT[width] * cols + DENSE_COST_PER_ROW) * rows


def choose(ly: IntLayer, fmt: str = "auto") -> str:
    if fmt not in FORMATS:
        raise ValueError(f"weight format must be one of {FORMATS}, got {fmt!r}")
    if fmt == "fast":
        return min(("sparse", "dense", "int8"), key=lambda f: estimated_instructions(ly, f))
    if fmt != "auto":
        return fmt
    s = layer_sizes(ly)
    return "sparse" if s["sparse"] < s["dense_packed"] else "dense"


def layer_context(i: int, ly: IntLayer, fmt: str) -> dict:
    ctx = {
        "index": i,
        "name": ly.name,
        "rows": ly.shape[0],
        "cols": ly.shape[1],
        "bits": ly.bits,
        "sparsity": ly.sparsity,
        "multiplier": ly.multiplier,
        "shift": ly.shift,
        "out_min": ly.out_min,
        "bias": c_array(ly.bias, 8),
        "format": fmt,
    }
    if fmt == "sparse":
        enc = encode_sparse(ly.codes)
        ctx |= {
            "n_groups": enc.groups,
            "groups": c_array(descriptors(enc), 8, hex_width=8),
            "n_offsets": enc.offsets.size,
            "offsets": c_array(enc.offsets, 24),
            "weight_bytes": enc.nbytes,
        }
    else:
        width = 8 if fmt == "int8" else storage_bits(ly.bits, ly.code_range[1])
        packed = pack_dense(ly.codes, width)
        ctx |= {
            "storage_bits": width,
            "n_weights": packed.size,
            "weights": c_array(packed, 24),
            "weight_bytes": int(packed.nbytes),
        }
    return ctx


def order_units_for_windows(model: IntegerModel) -> IntegerModel:
    """Reorder each hidden layer's units where that lets the next layer's sparse encoding
    use fewer windows (fewer groups: fewer bytes and instructions); same outputs."""
    for i in range(len(model.layers) - 1):
        nxt = model.layers[i + 1].codes
        candidate = permute_units(model, i, window_order(nxt))
        if encode_sparse(candidate.layers[i + 1].codes).groups < encode_sparse(nxt).groups:
            model = candidate
    return model


def render(model: IntegerModel, formats: list[str] | str = "auto") -> tuple[str, list[dict]]:
    """The header text and the per-layer contexts (format, bytes) it was made from.

    The header holds an equivalent model - dead hidden units removed (``drop_dead_units``),
    the rest ordered for the sparse windows (``order_units_for_windows``) - but carries the
    identity of ``model``: the device implements that model, bit for bit."""
    model.validate()
    spec = model
    model, dropped = drop_dead_units(spec)
    model = order_units_for_windows(model)
    if isinstance(formats, str):
        formats = [formats] * len(model.layers)
    layers = [
        layer_context(i, ly, choose(ly, f)) | {"dead_units_dropped": d}
        for i, (ly, f, d) in enumerate(zip(model.layers, formats, dropped, strict=True))
    ]
    text = (
        template_env(Path(__file__).parent / "templates")
        .get_template(HEADER + ".j2")
        .render(
            version=__version__,
            identity=spec.identity(),
            in_features=model.in_features,
            num_classes=model.num_classes,
            max_width=buffer_width(model.in_features, layers),
            max_sparse_rows=max([1] + [c["rows"] for c in layers if c["format"] == "sparse"]),
            input_scale=model.input_scale,
            output_scale=model.output_scale,
            labels=",\n".join('    "' + label.replace('"', "") + '"' for label in model.labels),
            layers=layers,
        )
    )
    return text, layers


def buffer_width(in_features: int, layers: list[dict]) -> int:
    """Bytes of each activation buffer: the widest layer input or output, taken from the
    layer contexts (widths after dead-unit removal, not the trained ones)."""
    return max([in_features] + [c["rows"] for c in layers])


def export(
    model: IntegerModel, out_dir: Path, formats: list[str] | str = "auto"
) -> tuple[Path, list[dict]]:
    """Write the header and its config header into ``out_dir``; return the header path and
    the per-layer contexts."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    text, layers = render(model, formats)
    path = out_dir / HEADER
    path.write_text(text)
    config = template_env(Path(__file__).parent / "templates").get_template(CONFIG + ".j2")
    (out_dir / CONFIG).write_text(
        config.render(version=__version__, identity=model.identity(), rounding=model.rounding)
    )
    return path, layers

"""What the generated C will hold: an equivalent of the integer model laid out for the
kernels, each layer's encoding, and the values the templates print.

The C implements an equivalent model - dead hidden units removed (``drop_dead_units``), the
rest ordered for the sparse windows (``order_units_for_windows``) - but carries the identity of
the integer model it came from: the device implements that model, bit for bit. Per layer the
weights are sparse or dense packed (``sparse_format``), chosen by ``formats.choose``; biases are
int32, the requantization a multiplier/shift pair."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecqx.codegen.formats import choose, dense_width
from ecqx.codegen.sparse_format import (
    GroupedSparse,
    descriptors,
    encode_colsparse,
    encode_sparse,
    pack_dense,
    window_order,
)
from ecqx.integer.equivalent import drop_dead_units, permute_units
from ecqx.integer.model import IntegerModel, IntLayer


def c_array(values: np.ndarray, per_line: int = 16, hex_width: int = 0) -> str:
    """``values`` as the body of a C initializer list, ``per_line`` numbers a line."""
    flat = np.asarray(values).flatten().tolist()
    vals = (
        [f"0x{int(v):0{hex_width}X}u" for v in flat] if hex_width else [str(int(v)) for v in flat]
    )
    lines = [", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]
    return ",\n".join("    " + ln for ln in lines)


def groups_context(enc: GroupedSparse) -> dict:
    """The group descriptors and offsets both sparse encodings print."""
    return {
        "n_groups": enc.groups,
        "groups": c_array(descriptors(enc), 12, hex_width=4),
        "n_offsets": enc.offsets.size,
        "offsets": c_array(enc.offsets, 24),
    }


def layer_context(i: int, ly: IntLayer, fmt: str) -> dict:
    """What the templates print for one layer encoded as ``fmt``."""
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
    if fmt == "colsparse":
        enc = encode_colsparse(ly.codes)
        columns = {"columns": c_array(enc.columns, 8, hex_width=8)}
        return ctx | groups_context(enc.by_column) | columns | {"weight_bytes": enc.nbytes}
    if fmt == "sparse":
        enc = encode_sparse(ly.codes)
        return ctx | groups_context(enc) | {"weight_bytes": enc.nbytes}
    width = dense_width(ly, fmt)
    packed = pack_dense(ly.codes, width)
    return ctx | {
        "storage_bits": width,
        "n_weights": packed.size,
        "weights": c_array(packed, 24),
        "weight_bytes": int(packed.nbytes),
    }


def _window_groups(model: IntegerModel, i: int, formats: list[str]) -> int:
    """Groups the order of hidden layer i's units affects: layer i's by column (its windows
    run down its rows) and layer i + 1's by row (its windows run along its columns)."""
    n = 0
    if formats[i] == "colsparse":
        n += encode_colsparse(model.layers[i].codes).groups
    if formats[i + 1] == "sparse":
        n += encode_sparse(model.layers[i + 1].codes).groups
    return n


def order_units_for_windows(model: IntegerModel, formats: list[str]) -> IntegerModel:
    """Reorder each hidden layer's units where that lets the sparse encodings around it
    (``formats``, one per layer) use fewer windows (fewer groups: fewer bytes and
    instructions); same outputs."""
    for i in range(len(model.layers) - 1):
        if formats[i] != "colsparse" and formats[i + 1] != "sparse":
            continue  # neither neighbour's windows run along these units
        # the units by their use in the next layer's rows and in this layer's columns
        orders = (window_order(model.layers[i + 1].codes), window_order(model.layers[i].codes.T))
        candidates = [model] + [permute_units(model, i, o) for o in orders]
        model = min(candidates, key=lambda m: _window_groups(m, i, formats))
    return model


SPARSE_FORMATS = ("sparse", "colsparse")  # the encodings whose kernels need int32 scratch


@dataclass
class Plan:
    """The integer model ``spec`` as the C code implements it."""

    spec: IntegerModel  # the model the C code is checked against
    model: IntegerModel  # the equivalent model whose arrays it holds
    layers: list[dict]  # per layer: layer_context + dead_units_dropped

    @property
    def max_width(self) -> int:
        """Bytes of each activation buffer: the widest layer output after dead-unit removal
        (the first layer reads the caller's input in place)."""
        return max(c["rows"] for c in self.layers)

    @property
    def max_sparse_rows(self) -> int:
        """int32 accumulators the sparse kernels need (their largest layer; 1 if none)."""
        return max([1] + [c["rows"] for c in self.layers if c["format"] in SPARSE_FORMATS])

    @property
    def needs_accumulators(self) -> bool:
        return any(c["format"] in SPARSE_FORMATS for c in self.layers)

    @property
    def weight_bytes(self) -> int:
        return sum(c["weight_bytes"] for c in self.layers)


def plan(spec: IntegerModel, weights: list[str] | str = "auto") -> Plan:
    """The C layout of ``spec`` with ``weights`` (one format, or one per layer)."""
    spec.validate()
    model, dropped = drop_dead_units(spec)
    if isinstance(weights, str):
        weights = [weights] * len(model.layers)
    # a layer behind a ReLU sees many zero inputs, which the by-column kernel skips
    after_relu = [False] + [ly.out_min == 0 for ly in model.layers[:-1]]
    formats = [choose(ly, f, r) for ly, f, r in zip(model.layers, weights, after_relu, strict=True)]
    model = order_units_for_windows(model, formats)
    layers = [
        layer_context(i, ly, f) | {"dead_units_dropped": d}
        for i, (ly, f, d) in enumerate(zip(model.layers, formats, dropped, strict=True))
    ]
    return Plan(spec, model, layers)

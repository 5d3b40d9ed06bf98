"""Which C weight encoding each layer gets: bytes of every encoding, a Cortex-M4 instruction
cost model, and the choice between them (``--weights``)."""

from __future__ import annotations

from ecqx.codegen.choices import WEIGHT_FORMATS
from ecqx.codegen.sparse_format import (
    encode_colsparse,
    encode_sparse,
    fits_sparse,
    pack_dense,
    storage_bits,
)
from ecqx.integer.model import IntLayer

# Instructions per unit of work on the emulated Cortex-M4, from bench_firmware.py --profile:
# the sparse kernel per non-zero weight, per group (descriptor fields, table branch, multiply,
# last-group test) and per row (store, requantize); the dense kernel per weight by field width.
# Refitted in session 14 (16-bit descriptors): every layer by row of the default model, 818,133
# measured against 814,693 estimated.
SPARSE_COST = {"nonzero": 3.0, "group": 10.0, "row": 14.0}
# the by-column kernel per weight and group of a live (non-zero) input, per column (the zero
# test and, for a zero input, the skip) and per row (bias, requantize)
COLSPARSE_COST = {"live_nonzero": 4.0, "live_group": 10.0, "column": 6.0, "row": 16.0}
# share of non-zero inputs the cost model assumes behind a ReLU (MLP_GSC, default point: 24-78%
# per layer on the test split); the firmware benchmark counts the real instructions
RELU_LIVE = 0.5
DENSE_COST_PER_WEIGHT = {8: 1.95, 4: 2.35, 2: 2.95}
DENSE_COST_PER_ROW = 14.0


def sparse_forms(ly: IntLayer) -> tuple[str, ...]:
    """The sparse encodings that can address this layer (their windows cover 4,096 positions)."""
    rows, cols = ly.shape
    return tuple(f for f, n in (("sparse", cols), ("colsparse", rows)) if fits_sparse(n))


def layer_sizes(ly: IntLayer) -> dict[str, int]:
    """Weight bytes of every encoding that can hold the layer (bias and requantization
    constants excluded)."""
    sizes = {
        "dense_packed": int(pack_dense(ly.codes, ly.bits).nbytes),
        "dense_int8": int(ly.codes.size),
    }
    forms = sparse_forms(ly)
    if "sparse" in forms:
        sizes["sparse"] = encode_sparse(ly.codes).nbytes
    if "colsparse" in forms:
        sizes["colsparse"] = encode_colsparse(ly.codes).nbytes
    return sizes


def dense_width(ly: IntLayer, fmt: str) -> int:
    """Bits per stored weight of a dense encoding (``dense`` packs at the layer's width)."""
    return 8 if fmt == "int8" else storage_bits(ly.bits, ly.code_range[1])


def estimated_instructions(ly: IntLayer, fmt: str, live: float = 1.0) -> float:
    """Instructions one inference spends in this layer with encoding ``fmt`` (Cortex-M4 cost
    model; the benchmark measures the real count); ``live``: the share of non-zero inputs,
    which only the by-column kernel profits from."""
    rows, cols = ly.shape
    if fmt == "colsparse":
        c = COLSPARSE_COST
        nz = int((ly.codes != 0).sum())
        live_work = c["live_nonzero"] * nz + c["live_group"] * encode_colsparse(ly.codes).groups
        return live * live_work + c["column"] * cols + c["row"] * rows
    if fmt == "sparse":
        c = SPARSE_COST
        nz = int((ly.codes != 0).sum())
        return c["nonzero"] * nz + c["group"] * encode_sparse(ly.codes).groups + c["row"] * rows
    return (DENSE_COST_PER_WEIGHT[dense_width(ly, fmt)] * cols + DENSE_COST_PER_ROW) * rows


def choose(ly: IntLayer, fmt: str = "auto", after_relu: bool = False) -> str:
    """The encoding of one layer: ``fmt`` itself, or the one ``auto``/``fast`` picks.
    ``after_relu``: the layer's inputs are a ReLU's outputs (many zeros)."""
    if fmt not in WEIGHT_FORMATS:
        raise ValueError(f"weight format must be one of {WEIGHT_FORMATS}, got {fmt!r}")
    live = RELU_LIVE if after_relu else 1.0
    if fmt == "fast":
        return min(sparse_forms(ly) + ("dense", "int8"),
                   key=lambda f: estimated_instructions(ly, f, live))  # fmt: skip
    if fmt != "auto":
        return fmt
    # of the sparse forms smaller than dense packed, the one with fewer instructions
    s = layer_sizes(ly)
    smaller = [f for f in sparse_forms(ly) if s[f] < s["dense_packed"]]
    if not smaller:
        return "dense"
    return min(smaller, key=lambda f: estimated_instructions(ly, f, live))

"""The numpy reference engine: executes an IntegerModel exactly as its definition says."""

from __future__ import annotations

import numpy as np

from ecqx.integer.model import IntegerModel, IntLayer
from ecqx.integer.requant import INT32_MAX, INT32_MIN, requantize


def accumulate(layer: IntLayer, x: np.ndarray) -> np.ndarray:
    """int32 accumulators ``bias + codes @ x`` for a batch of int8 inputs [N, in].

    Computed with a float64 matmul: every product and partial sum is an integer below 2^53,
    so the result is exact and BLAS-fast."""
    acc = np.asarray(x, np.float64) @ layer.codes.T.astype(np.float64)
    acc = acc.astype(np.int64) + layer.bias.astype(np.int64)
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise OverflowError(f"layer {layer.name}: int32 accumulator overflow")
    return acc


def run_layer(layer: IntLayer, x: np.ndarray, rounding: str = "single") -> np.ndarray:
    y = requantize(accumulate(layer, x), layer.multiplier, layer.shift, rounding)
    return np.clip(y, layer.out_min, 127).astype(np.int8)


def run(model: IntegerModel, x: np.ndarray, all_layers: bool = False) -> np.ndarray | list:
    """int8 inputs [N, in] (or [in]) -> int8 outputs [N, classes]; with ``all_layers`` the
    list of every layer's int8 output."""
    x = np.asarray(x)
    single = x.ndim == 1
    if single:
        x = x[None]
    if x.dtype != np.int8 or x.shape[1] != model.in_features:
        raise ValueError(
            f"input must be int8 [N, {model.in_features}], got {x.dtype} {list(x.shape)}"
        )
    outs = []
    for layer in model.layers:
        x = run_layer(layer, x, model.rounding)
        outs.append(x[0] if single else x)
    return outs if all_layers else outs[-1]


def predict(model: IntegerModel, x: np.ndarray) -> np.ndarray:
    """Predicted class per input: argmax of the int8 logits, lowest index on ties (as the
    device does)."""
    return np.asarray(run(model, x)).argmax(axis=-1)

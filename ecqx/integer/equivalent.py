"""Equivalent integer models: the same int8 outputs for every input, bit for bit, in a form
that suits a backend better.

Dead-unit removal (``drop_dead_units``): entropy-constrained training zeroes whole rows; a
hidden unit with no non-zero weight outputs the same int8 value ``c = clamp(requantize(bias))``
for every input. Its contribution to the next layer, ``codes[:, dead] @ c``, is then a
constant integer, so it moves into that layer's int32 bias and the unit (its row here, its
column there) disappears. All of it is integer arithmetic, so the smaller model computes the
same accumulators and the same int8 outputs as the original, bit for bit; only the hidden
widths (and the kernel's work per inference) shrink. The class outputs and the model's inputs
are never removed.

Unit order (``permute_units``): the hidden units of a layer can be listed in any order as long
as the next layer's columns follow; the C export uses this to put columns that are used
together close to each other (``codegen.sparse_format.window_order``).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ecqx.integer.engine import run_layer
from ecqx.integer.model import IntegerModel, IntLayer
from ecqx.integer.requant import INT32_MAX, INT32_MIN


def constant_outputs(layer: IntLayer, rows: np.ndarray, rounding: str) -> np.ndarray:
    """int8 outputs of ``rows`` of a layer whose weights in those rows are all zero."""
    only_bias = dataclasses.replace(
        layer, codes=np.zeros((rows.size, 1), np.int8), bias=layer.bias[rows]
    )
    return run_layer(only_bias, np.zeros((1, 1), np.int8), rounding)[0]


def drop_dead_units(model: IntegerModel) -> tuple[IntegerModel, list[int]]:
    """The equivalent model without dead hidden units, and how many each layer lost.

    A layer keeps at least one unit; a fold whose bias would leave int32 is not done."""
    layers = list(model.layers)
    dropped = [0] * len(layers)
    for i in range(len(layers) - 1):
        cur, nxt = layers[i], layers[i + 1]
        dead = np.flatnonzero(~(cur.codes != 0).any(axis=1))
        if dead.size == cur.shape[0]:
            dead = dead[1:]
        if dead.size == 0:
            continue
        c = constant_outputs(cur, dead, model.rounding)
        folded = nxt.bias.astype(np.int64) + nxt.codes[:, dead].astype(np.int64) @ c.astype(
            np.int64
        )
        if folded.min() < INT32_MIN or folded.max() > INT32_MAX:
            continue
        keep = np.setdiff1d(np.arange(cur.shape[0]), dead)
        layers[i] = dataclasses.replace(cur, codes=cur.codes[keep], bias=cur.bias[keep])
        layers[i + 1] = dataclasses.replace(
            nxt, codes=np.ascontiguousarray(nxt.codes[:, keep]), bias=folded.astype(np.int32)
        )
        dropped[i] = int(dead.size)
    return dataclasses.replace(model, layers=layers), dropped


def permute_units(model: IntegerModel, i: int, order: np.ndarray) -> IntegerModel:
    """Layer ``i``'s units (rows, biases) in ``order``, and layer ``i + 1``'s columns with them;
    ``i`` must be a hidden layer."""
    if not 0 <= i < len(model.layers) - 1:
        raise ValueError(f"layer {i} is not a hidden layer of a {len(model.layers)}-layer model")
    order = np.asarray(order)
    if sorted(order.tolist()) != list(range(model.layers[i].shape[0])):
        raise ValueError(f"not a permutation of layer {i}'s {model.layers[i].shape[0]} units")
    layers = list(model.layers)
    cur, nxt = layers[i], layers[i + 1]
    layers[i] = dataclasses.replace(cur, codes=cur.codes[order], bias=cur.bias[order])
    layers[i + 1] = dataclasses.replace(nxt, codes=np.ascontiguousarray(nxt.codes[:, order]))
    return dataclasses.replace(model, layers=layers)

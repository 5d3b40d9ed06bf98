"""Equivalent models: dead units folded into the next bias and unit reordering change no output."""

import numpy as np
import pytest
from helpers import random_integer_model

from ecqx.codegen.sparse_format import (
    encode_sparse,
    window_order,
)
from ecqx.integer import engine
from ecqx.integer.equivalent import drop_dead_units, permute_units


def test_dead_units_fold_into_the_next_bias_bit_exactly():
    """Rows without non-zero weights output a constant; removing them and folding that
    constant into the next layer changes no output, and shrinks the hidden widths."""
    model, _ = random_integer_model(seed=3, widths=(40, 32, 24, 6))
    model.layers[0].codes[[1, 5, 7]] = 0
    model.layers[1].codes[:] = 0  # a whole layer dead: one unit is kept
    small, dropped = drop_dead_units(model)
    assert dropped == [3, 23, 0] and [ly.shape for ly in small.layers] == [
        (29, 40),
        (1, 29),
        (6, 1),
    ]
    x = np.random.default_rng(0).integers(-128, 128, (200, 40)).astype(np.int8)
    assert np.array_equal(engine.run(small, x), engine.run(model, x))
    for a, b in zip(engine.run(small, x, True)[:-1], engine.run(model, x, True)[:-1]):
        assert a.shape[1] < b.shape[1]


def test_unit_order_changes_no_output_and_can_save_windows():
    model, _ = random_integer_model(seed=4, widths=(30, 400, 20, 5), sparsity=0.9)
    # the next layer uses only units 0..99 and 300..399: 400 columns apart, two windows
    model.layers[1].codes[:, 100:300] = 0
    before = encode_sparse(model.layers[1].codes).groups
    order = window_order(model.layers[1].codes)
    assert sorted(order.tolist()) == list(range(400))
    moved = permute_units(model, 0, order)
    assert encode_sparse(moved.layers[1].codes).groups < before
    x = np.random.default_rng(1).integers(-128, 128, (100, 30)).astype(np.int8)
    assert np.array_equal(engine.run(moved, x), engine.run(model, x))
    with pytest.raises(ValueError, match="permutation"):
        permute_units(model, 0, np.zeros(400, int))
    with pytest.raises(ValueError, match="hidden"):
        permute_units(model, 2, np.arange(5))

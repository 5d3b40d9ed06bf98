"""The reference engine equals an independent exact rational computation."""

from fractions import Fraction

import numpy as np
from helpers import random_integer_model

from ecqx.integer import engine


def test_engine_equals_independent_rational_computation():
    model, feats = random_integer_model(seed=3)
    x = model.quantize_input(feats[:40])
    out = engine.run(model, x, all_layers=True)
    h = [list(map(int, row)) for row in x]
    for ly, got in zip(model.layers, out):
        M = Fraction(ly.multiplier, 2 ** (31 - ly.shift))
        nxt = []
        for row in h:
            acc = [
                int(ly.bias[j]) + sum(int(c) * v for c, v in zip(ly.codes[j], row))
                for j in range(ly.shape[0])
            ]
            y = [int(np.floor(a * M + Fraction(1, 2))) for a in acc]
            nxt.append([min(127, max(ly.out_min, v)) for v in y])
        assert np.array_equal(np.array(nxt), got), ly.name
        h = nxt

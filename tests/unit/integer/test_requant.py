"""Fixed-point requantization: multipliers, single and double rounding against exact arithmetic."""

from fractions import Fraction

import numpy as np
import pytest
from helpers import random_integer_model

from ecqx.integer.requant import quantize_multiplier, requantize


def _gemmlowp(x: int, m: int, shift: int) -> int:
    """TFLite's double rounding written out with Python integers (independent of numpy)."""
    left, right = max(shift, 0), max(-shift, 0)
    a = x * (1 << left)
    ab = a * m
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    q = abs(ab + nudge) // (1 << 31)
    hi = q if ab + nudge >= 0 else -q
    mask = (1 << right) - 1
    rem = hi & mask
    threshold = (mask >> 1) + (1 if hi < 0 else 0)
    return (hi >> right) + (1 if rem > threshold else 0)


@pytest.mark.parametrize("real", [1e-6, 0.0123, 0.49999, 0.5, 0.75, 0.999999, 1.5, 37.0])
def test_quantize_multiplier_is_accurate(real):
    m, shift = quantize_multiplier(real)
    assert 2**30 <= m < 2**31
    assert abs(m * 2.0 ** (shift - 31) - real) <= 2.0 ** (shift - 32)


def test_requantize_matches_exact_arithmetic():
    rng = np.random.default_rng(1)
    for _ in range(50):
        m, shift = quantize_multiplier(float(rng.uniform(1e-4, 0.9)))
        acc = rng.integers(-(2**22), 2**22, 400)
        single = requantize(acc, m, shift, "single")
        double = requantize(acc, m, shift, "double")
        for a, s, d in zip(acc.tolist(), single.tolist(), double.tolist()):
            exact = Fraction(a * m, 2 ** (31 - shift))
            assert s == int(np.floor(exact + Fraction(1, 2)))  # half toward +inf
            assert d == _gemmlowp(a, m, shift)
            assert abs(d - exact) <= 1


def test_multiplier_is_the_ratio_of_the_scales():
    model, _ = random_integer_model(seed=4)
    for ly in model.layers:
        real = float(np.float32(ly.in_scale)) * float(np.float32(ly.w_scale)) / ly.out_scale
        assert abs(ly.multiplier * 2.0 ** (ly.shift - 31) / real - 1) < 1e-9

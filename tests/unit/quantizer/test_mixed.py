"""Per-layer bit widths under a size budget: the budget holds, the bounds hold, denser
relevance gets more bits, and equal layers at a whole-bit budget get that width."""

import pytest

from ecqx.quantizer.mixed import allocate_bits


def test_budget_and_bounds_hold():
    sizes = [376_320, 262_144, 131_072, 65_536, 32_768, 16_384, 1_536]
    scores = [1.0] * 7  # relevance is conserved layer to layer
    for budget in (2.0, 2.5, 3.0, 3.5, 4.0, 5.0):
        bits = allocate_bits(scores, sizes, budget)
        assert all(2 <= b <= 5 for b in bits)
        assert sum(b * n for b, n in zip(bits, sizes)) <= budget * sum(sizes)
    assert allocate_bits(scores, sizes, 2.0) == [2] * 7
    assert allocate_bits(scores, sizes, 5.0) == [5] * 7
    # equal conserved relevance: the smallest layers (densest relevance) get bits first
    bits = allocate_bits(scores, sizes, 2.5)
    assert bits == sorted(bits) and bits[-1] > bits[0]


def test_equal_layers_at_a_whole_budget_get_that_width_and_density_decides_otherwise():
    assert allocate_bits([1, 1, 1], [100, 100, 100], 3.0) == [3, 3, 3]
    assert allocate_bits([2, 1, 1], [100, 100, 100], 3.0) == [4, 3, 2]
    assert allocate_bits([4, 1, 1], [100, 100, 100], 3.0) == [5, 2, 2]
    with pytest.raises(ValueError, match="bit budget"):
        allocate_bits([1], [10], 6.0)
    with pytest.raises(ValueError, match="one score and one size"):
        allocate_bits([1, 2], [10], 3.0)

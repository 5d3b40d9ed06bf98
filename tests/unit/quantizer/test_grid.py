"""Uniform integer grids: rounding, signed and unsigned, the 2-bit step, bit range."""

import pytest
import torch

from ecqx.bits import check_bits
from ecqx.quantizer.assign import (
    ecq_assign,
)
from ecqx.quantizer.grid import Grid, dequantize, make_grid, nearest_codes, overhang

BITS = [2, 3, 4, 5]


@pytest.mark.parametrize("bits", BITS)
def test_codes_times_step_reproduce_weights_and_stay_in_range(bits):
    torch.manual_seed(bits)
    w = torch.randn(64, 48) * 0.1
    grid = make_grid(w, bits)
    codes = ecq_assign(w, grid, 0.2)
    q = dequantize(codes, grid)
    assert codes.min() >= grid.lo and codes.max() <= grid.hi
    assert grid.lo >= -(2 ** (bits - 1)) and grid.hi <= 2 ** (bits - 1) - 1
    # integer codes are recovered exactly from the quantized weights, and vice versa
    assert torch.equal(torch.round(q / grid.step).to(torch.int64), codes)
    assert torch.equal(q, codes.float() * torch.tensor(grid.step, dtype=torch.float32))


def test_rounding_not_truncation():
    grid = make_grid(torch.tensor([-1.0, 1.0] * 1000), 4)  # step = 1/7
    w = torch.tensor([0.9, -0.9, 2.6, -2.6]) * grid.step
    assert nearest_codes(w, grid).tolist() == [1, -1, 3, -3]


def test_unsigned_grid_for_nonnegative_tensors():
    w = torch.rand(1000)
    grid = make_grid(w, 3)
    assert (grid.lo, grid.hi) == (0, 7)
    assert make_grid(w - 0.5, 3).lo == -3


@pytest.mark.parametrize("bad", [1, 6, 0, 8, 4.0, True])
def test_bits_out_of_range_are_refused(bad):
    with pytest.raises(ValueError, match="2..5"):
        check_bits(bad)


def test_two_bit_grid_is_not_all_zero_before_the_entropy_term():
    """A ternary grid with the percentile step put ~all Gaussian weights at zero; the MSE step
    keeps the nearest-neighbour zeros near the Gaussian optimum (~47% for step ~1.22 sigma)."""
    w = torch.randn(256, 512, generator=torch.Generator().manual_seed(0))
    grid = make_grid(w, 2)
    assert 1.1 < grid.step / float(w.std()) < 1.35
    zeros = float((nearest_codes(w, grid) == 0).float().mean())
    assert 0.35 < zeros < 0.6
    # wider grids keep the percentile rule
    assert make_grid(w, 4).step == pytest.approx(
        float(w.abs().flatten().kthvalue(round(0.999 * (w.numel() - 1)) + 1).values) / 7, rel=1e-6
    )


def test_overhang_counts_weights_outside_every_rounding_cell():
    """Ternary grid, step 0.5: the outer cells end at +-1.5 steps (+-0.75); only weights
    beyond them count, on either side."""
    grid = Grid(bits=2, step=0.5, lo=-1, hi=1)
    w = torch.tensor([0.0, 0.5, 0.74, 0.76, -0.74, -0.8, 2.0, -0.2])
    assert overhang(w, grid) == 3 / 8
    assert overhang(torch.zeros(5), grid) == 0.0

"""Uniform integer centroid grids.

A layer's centroids are ``code * step`` for integer codes in ``[lo, hi]``. The grid always
contains zero (the sparsity cluster). Signed tensors get a symmetric grid
``[-(2^(b-1)-1), 2^(b-1)-1]`` so the codes fit a b-bit two's-complement integer; tensors with no
negative value get the unsigned grid ``[0, 2^b-1]``. For b >= 3 the step comes from the 99.9th
percentile of |w| so a few outliers do not stretch the grid. For b = 2 that rule fails: the
signed grid is ternary, its one step would sit at the tail of the distribution and nearly every
weight would round to zero before the entropy term has any say (measured: 100% zeros after one
epoch). There the step is the one that minimizes the nearest-neighbour squared error, found on a
fixed candidate list (about 1.2 standard deviations for Gaussian weights).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ecqx.bits import check_bits

PERCENTILE = 99.9
MSE_CANDIDATES = 200


@dataclass(frozen=True)
class Grid:
    """The centroid grid of one layer: centroids are ``code * step`` for ``lo <= code <= hi``."""

    bits: int
    step: float
    lo: int
    hi: int

    @property
    def num_centroids(self) -> int:
        return self.hi - self.lo + 1

    def codes(self, device: torch.device | str = "cpu") -> torch.Tensor:
        """All integer codes, ascending, as int64."""
        return torch.arange(self.lo, self.hi + 1, device=device)

    def to_dict(self) -> dict:
        return {"bits": self.bits, "step": self.step, "lo": self.lo, "hi": self.hi}

    @staticmethod
    def from_dict(d: dict) -> Grid:
        return Grid(bits=int(d["bits"]), step=float(d["step"]), lo=int(d["lo"]), hi=int(d["hi"]))


def percentile_abs(w: torch.Tensor, q: float = PERCENTILE) -> float:
    """q-th percentile of |w| (linear interpolation), robust for tensors of any size."""
    flat = w.detach().abs().flatten().to(torch.float64)
    if flat.numel() == 0:
        return 0.0
    # torch.quantile refuses inputs above 16M elements; kthvalue has no such limit.
    k = max(1, min(flat.numel(), int(round(q / 100.0 * (flat.numel() - 1))) + 1))
    return float(flat.kthvalue(k).values)


def make_grid(w: torch.Tensor, bits: int) -> Grid:
    """Build the grid for weight tensor ``w`` at ``bits`` bits."""
    check_bits(bits)
    signed = bool((w < 0).any())
    hi = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    lo = -hi if signed else 0
    p = percentile_abs(w)
    # An all-zero tensor has no scale; any positive step keeps every code at zero.
    step = (mse_step(w, lo, hi, p) if bits == 2 else p / hi) if p > 0 else 1.0
    # Keep the step float32-representable so every backend (torch, ONNX, TFLite, C) multiplies
    # codes by the very same number.
    step = float(torch.tensor(step, dtype=torch.float32))
    return Grid(bits=bits, step=step, lo=lo, hi=hi)


def mse_step(w: torch.Tensor, lo: int, hi: int, top: float) -> float:
    """The step in (0, top] minimizing sum((w - nearest(w))^2) over a fixed candidate list."""
    flat = w.detach().flatten().to(torch.float64)
    cands = torch.linspace(top / MSE_CANDIDATES, top, MSE_CANDIDATES, dtype=torch.float64)
    errs = [
        float(((torch.clamp(torch.round(flat / s), lo, hi) * s - flat) ** 2).sum()) for s in cands
    ]
    return float(cands[int(torch.tensor(errs).argmin())])


def nearest_codes(w: torch.Tensor, grid: Grid) -> torch.Tensor:
    """Nearest-neighbour codes: round half to even, then clip to the grid (never truncate)."""
    return torch.clamp(torch.round(w / grid.step), grid.lo, grid.hi).to(torch.int64)


def overhang(w: torch.Tensor, grid: Grid) -> float:
    """Share of weights more than half a step beyond the grid's outer centroids: outside every
    rounding cell, so the straight-through gradient moves them without ever changing their
    code. It grows during low-bit QAT as shadows drift off the grid (the 2-bit finding of
    issue 15) and is 0 with ``clip_shadows``."""
    x = w.detach() / grid.step
    return float(((x > grid.hi + 0.5) | (x < grid.lo - 0.5)).sum()) / max(1, w.numel())


def dequantize(codes: torch.Tensor, grid: Grid, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The quantized weights ``code * step``: exactly representable given the codes and step."""
    return codes.to(dtype) * grid.step

"""Per-layer choice of the relevance exponent beta (section 4.2).

With ``m = rho * R'^beta = (R / mean R)^beta`` a weight goes to zero iff ``beta * g <= t``
(``g = ln(R / mean R)``, ``t`` from :func:`ecqx.quantizer.assign.zero_preference`). So each
weight flips at one breakpoint ``beta = t / g``: weights with ``g > 0`` (relevant) are zero only
below it (they regrow as beta grows), weights with ``g < 0`` only above it. The number of zeros
for every candidate beta on a grid is therefore two histograms of breakpoints and their
cumulative sums: one O(N log K) pass, no argmin per candidate and no Python loop over weights.

The chosen beta is the largest grid value in [0, 1] whose net extra sparsity over ECQ (new
zeros minus regrown weights) stays within the target p. beta = 0 is plain ECQ and always
qualifies.
"""

from __future__ import annotations

import torch

DEFAULT_RESOLUTION = 256


def zero_counts(g: torch.Tensor, t: torch.Tensor, betas: torch.Tensor) -> torch.Tensor:
    """Number of zero-assigned weights at each beta in ascending ``betas`` (float64)."""
    betas = betas.to(torch.float64)
    k = betas.numel()
    counts = torch.zeros(k, dtype=torch.int64)
    pos, neg, flat = g > 0, g < 0, g == 0
    if pos.any():
        # zero iff beta <= t/g: candidates with index < searchsorted(right=True)
        idx = torch.searchsorted(betas, t[pos] / g[pos], right=True)
        hist = torch.bincount(idx, minlength=k + 1)
        counts += hist.flip(0).cumsum(0).flip(0)[1:]
    if neg.any():
        # zero iff beta >= t/g: candidates with index >= searchsorted(right=False)
        idx = torch.searchsorted(betas, t[neg] / g[neg], right=False)
        hist = torch.bincount(idx, minlength=k + 1)
        counts += hist.cumsum(0)[:k]
    if flat.any():
        counts += int((t[flat] >= 0).sum())
    return counts


def search_beta(
    g: torch.Tensor, t: torch.Tensor, p: float, resolution: int = DEFAULT_RESOLUTION
) -> tuple[float, int]:
    """Largest beta in {0, 1/K, ..., 1} whose extra sparsity over ECQ is at most ``p``.

    Returns (beta, number of zeros at that beta).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"target sparsity p={p} must lie in [0, 1]")
    betas = torch.linspace(0.0, 1.0, resolution + 1, dtype=torch.float64)
    counts = zero_counts(g.cpu(), t.cpu(), betas)
    allowed = counts - counts[0] <= p * g.numel()
    best = int(torch.nonzero(allowed).max())
    return float(betas[best]), int(counts[best])

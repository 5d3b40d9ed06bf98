"""Per-layer choice of the relevance exponent beta (section 4.2).

With ``m = rho * R'^beta = (R / mean R)^beta`` a weight goes to zero iff ``beta * g <= t``
(``g = ln(R / mean R)``, ``t`` from :func:`ecqx.quantizer.assign.zero_preference`). So each
weight flips at one breakpoint ``beta = t / g``: weights with ``g > 0`` (relevant) are zero only
below it (they regrow as beta grows), weights with ``g < 0`` only above it. The number of zeros
for every candidate beta on a grid is therefore two histograms of breakpoints and their
cumulative sums: one O(N log K) pass, no argmin per candidate and no Python loop over weights.

The chosen beta is the largest grid value in [0, 1] whose net extra sparsity over ECQ (new
zeros minus regrown weights) stays within the target p (the paper's rule, ``--p-bounds
extra``); ``--p-bounds both`` also bounds the other direction, the weights relevance keeps
from going to zero. beta = 0 is plain ECQ and always qualifies.
"""

from __future__ import annotations

import torch

DEFAULT_RESOLUTION = 256


def zero_counts(
    g: torch.Tensor, t: torch.Tensor, resolution: int = DEFAULT_RESOLUTION, beta_max: float = 1.0
) -> torch.Tensor:
    """Number of zero-assigned weights at every beta = beta_max * k / resolution,
    k = 0..resolution.

    The candidates are a uniform grid, so locating each breakpoint ``u = t/g`` among them is a
    floor/ceil, and all counts come from one bincount, with relevant (g > 0) and irrelevant
    (g < 0) weights in separate halves of the histogram. Written for few passes over the
    weights (half the time of the straightforward form), since it runs at every search."""
    k = resolution + 1
    t = t.to(g.dtype)
    neg = g < 0
    # a = floor(|u|); in place where possible: this runs over every weight at each search
    a = (t * (resolution / beta_max)).div_(g.abs()).floor_()
    # g > 0: zero iff k' <= u, i.e. for the floor(u) + 1 lowest candidates (bin a + 1);
    # g < 0: zero iff k' >= u, i.e. for candidates from ceil(u) = -a on (bin -a, second half)
    idx = torch.where(neg, a.neg(), a.add_(1)).clamp_(0, k).add_(neg, alpha=k + 1)
    # g == 0 (u is inf or nan) goes to a last bin that is not counted
    flat = g == 0
    idx = idx.masked_fill_(flat, 2 * (k + 1)).to(torch.int64)
    hist = torch.bincount(idx, minlength=2 * (k + 1) + 1)
    pos_hist, neg_hist = hist[: k + 1], hist[k + 1 : 2 * (k + 1)]
    counts = pos_hist.flip(0).cumsum(0).flip(0)[1:] + neg_hist.cumsum(0)[:k]
    return counts + int((t[flat] >= 0).sum())


def search_beta(
    g: torch.Tensor,
    t: torch.Tensor,
    p: float,
    resolution: int = DEFAULT_RESOLUTION,
    both: bool = False,
    beta_max: float = 1.0,
) -> tuple[float, int]:
    """Largest beta in {0, B/K, ..., B} (B = ``beta_max``) whose extra sparsity over ECQ is
    at most ``p``; with ``both``, whose change in sparsity either way is at most ``p``
    (relevance may then also keep at most ``p`` of the layer from going to zero).

    Returns (beta, number of zeros at that beta).
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"target sparsity p={p} must lie in [0, 1]")
    counts = zero_counts(g, t, resolution, beta_max)
    change = counts - counts[0]
    allowed = (change.abs() if both else change) <= p * g.numel()
    best = int(torch.nonzero(allowed).max())
    return beta_max * best / resolution, int(counts[best])

"""Entropy-constrained assignment of weights to centroids (ECQ, Eq. 1) and its
relevance-weighted variant (ECQx, Eq. 10/11).

Distances are measured in quantization steps, ``(w/step - c)^2``, so one lambda means the same
trade-off in every layer whatever its weight scale; the information content is
``-log2(P_c)`` with ``P_c`` the share of weights whose nearest centroid is ``c``. Empty
clusters have infinite information content and can never be chosen.

All functions are pure and vectorized over the tensor: the cost of every weight against every
centroid is one broadcast, and ECQx only rescales the zero-cluster cost per weight.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ecqx.quantizer.grid import Grid, nearest_codes


def cluster_probabilities(w: torch.Tensor, grid: Grid) -> torch.Tensor:
    """P_c of every centroid (ascending codes) from the nearest-neighbour pre-assignment."""
    nn = nearest_codes(w, grid).flatten() - grid.lo
    counts = torch.bincount(nn, minlength=grid.num_centroids).to(torch.float64)
    return counts / max(1, w.numel())


def information_content(p: torch.Tensor) -> torch.Tensor:
    """-log2(P_c); +inf for empty clusters."""
    return -torch.log2(p)


@dataclass
class SplitCosts:
    """Per weight: the cost of the zero cluster and of the cheapest non-zero cluster."""

    zero: torch.Tensor  # (N,) float64
    nonzero: torch.Tensor  # (N,) float64, +inf if the grid has no usable non-zero centroid
    nonzero_code: torch.Tensor  # (N,) int64


def split_costs(w: torch.Tensor, grid: Grid, lam: float) -> SplitCosts:
    """Eq. 1's cost for every weight, split into the zero cluster and the best other cluster."""
    x = (w.detach().flatten().to(torch.float64)) / grid.step
    info = information_content(cluster_probabilities(w, grid)).to(x.device)
    codes = grid.codes(x.device)
    zero_idx = -grid.lo
    # Empty clusters stay unreachable even at lambda = 0 (0 * inf would be NaN).
    penalty = torch.where(torch.isinf(info), info, lam * info)
    zero = x * x + penalty[zero_idx]
    nz_codes = torch.cat([codes[:zero_idx], codes[zero_idx + 1 :]])
    nz_pen = torch.cat([penalty[:zero_idx], penalty[zero_idx + 1 :]])
    cost = (x[:, None] - nz_codes.to(torch.float64)[None, :]) ** 2 + nz_pen[None, :]
    best, arg = cost.min(dim=1)
    return SplitCosts(zero=zero, nonzero=best, nonzero_code=nz_codes[arg])


def zero_preference(costs: SplitCosts) -> torch.Tensor:
    """t = ln(nonzero cost) - ln(zero cost): the zero cluster wins iff its multiplier m
    satisfies ln(m) <= t. Both costs are non-negative; clamping keeps t finite where a weight
    sits exactly on a centroid with lambda = 0."""
    tiny = torch.finfo(torch.float64).tiny
    return torch.log(costs.nonzero.clamp_min(tiny)) - torch.log(costs.zero.clamp_min(tiny))


def log_relevance_ratio(relevance: torch.Tensor) -> torch.Tensor:
    """g = ln(R / mean R) per weight, the log of the beta = 1 multiplier rho * R^beta.

    rho is fixed by the paper's normalization rho * mean(R)^beta = 1, so a weight of average
    relevance keeps its ECQ cost, a more relevant one pays more for zero, a less relevant one
    less. Relevance is clamped away from zero so that an irrelevant weight gets a large finite
    negative g instead of -inf."""
    r = relevance.detach().flatten().to(torch.float64)
    mean = r.mean()
    if not torch.isfinite(mean) or mean <= 0:
        return torch.zeros_like(r)
    floor = mean * 1e-12
    return torch.log(r.clamp_min(floor) / mean)


def choose_codes(costs: SplitCosts, g: torch.Tensor | None = None, beta: float = 0.0) -> torch.Tensor:
    """Flat codes: zero where Eq. 11's scaled zero cost, rho * R'^beta * cost_0, is at most the
    cheapest non-zero cost (compared in the log domain), else the cheapest non-zero code.
    ``g = None`` or ``beta = 0`` is plain ECQ (Eq. 1)."""
    t = zero_preference(costs)
    zero = t >= 0 if g is None or beta == 0.0 else beta * g <= t
    return torch.where(zero, torch.zeros_like(costs.nonzero_code), costs.nonzero_code)


def ecq_assign(w: torch.Tensor, grid: Grid, lam: float) -> torch.Tensor:
    """ECQ (Eq. 1): integer codes of ``w`` minimizing distance + lam * information content."""
    return choose_codes(split_costs(w, grid, lam)).reshape(w.shape)


def ecqx_assign(
    w: torch.Tensor, grid: Grid, lam: float, relevance: torch.Tensor, beta: float
) -> torch.Tensor:
    """ECQx (Eq. 11): like ECQ but the zero-cluster cost is scaled by rho * R'^beta per weight."""
    c = split_costs(w, grid, lam)
    g = log_relevance_ratio(relevance).to(c.zero.device)
    return choose_codes(c, g, beta).reshape(w.shape)

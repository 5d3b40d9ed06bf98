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

import math
from dataclasses import dataclass

import torch

from ecqx.quantizer.grid import Grid, nearest_codes


def cluster_probabilities(
    w: torch.Tensor, grid: Grid, live: torch.Tensor | None = None
) -> torch.Tensor:
    """P_c of every centroid (ascending codes) from the nearest-neighbour pre-assignment;
    with ``live`` (a bool mask), of those weights only (pruned weights do not count)."""
    if live is not None:
        w = w[live]
    nn = nearest_codes(w, grid).flatten() - grid.lo
    counts = torch.bincount(nn, minlength=grid.num_centroids).to(torch.float64)
    return counts / max(1, w.numel())


def information_content(p: torch.Tensor) -> torch.Tensor:
    """-log2(P_c); +inf for empty clusters."""
    return -torch.log2(p)


@dataclass
class SplitCosts:
    """Per weight: the cost of the zero cluster and of the cheapest non-zero cluster."""

    zero: torch.Tensor  # (N,)
    nonzero: torch.Tensor  # (N,), +inf if the grid has no usable non-zero centroid
    nonzero_code: torch.Tensor  # (N,) int64


def lower_envelope(codes: list[int], penalty: list[float]) -> tuple[list[int], list[float]]:
    """Which code minimizes ``(x - c)^2 + penalty_c`` on each interval of x.

    All costs share the ``x^2`` term, so the minimum is the lower envelope of the lines
    ``-2c x + c^2 + penalty_c``; with codes ascending, the winners appear in ascending order.
    Returns the winning codes and the ``len - 1`` breakpoints between them. Codes with infinite
    penalty (empty clusters) never win. This is a loop over at most 31 centroids, not weights.
    """
    lines = [(c, c * c + pen) for c, pen in zip(codes, penalty, strict=True) if math.isfinite(pen)]
    hull: list[tuple[int, float]] = []
    breaks: list[float] = []
    for c, b in lines:
        while hull:
            c0, b0 = hull[-1]
            x = (b - b0) / (2.0 * (c - c0))  # where line c starts to beat the last hull line
            if breaks and x <= breaks[-1]:
                hull.pop()
                breaks.pop()
                continue
            breaks.append(x)
            break
        hull.append((c, b))
    return [c for c, _ in hull], breaks


def split_costs(
    w: torch.Tensor, grid: Grid, lam: float, live: torch.Tensor | None = None
) -> SplitCosts:
    """Eq. 1's cost for every weight, split into the zero cluster and the best other cluster.
    ``live`` (bool, like ``w``) limits the cluster statistics to those weights: weights pruned
    for good would otherwise make the zero cluster ever cheaper.

    Computed in float64 for float64 weights (tests) and float32 otherwise; the best non-zero
    cluster comes from the lower envelope, so the work per weight is one binary search over
    the centroids instead of a full row of costs."""
    dtype = torch.float64 if w.dtype == torch.float64 else torch.float32
    x = w.detach().flatten().to(dtype) / grid.step
    info = information_content(cluster_probabilities(w, grid, live)).tolist()
    # Empty clusters stay unreachable even at lambda = 0 (0 * inf would be NaN).
    penalty = [math.inf if math.isinf(i) else lam * i for i in info]
    zero_pen = penalty[-grid.lo]
    zero = x * x + zero_pen
    nz = [(c, penalty[c - grid.lo]) for c in range(grid.lo, grid.hi + 1) if c != 0]
    env_codes, env_breaks = lower_envelope([c for c, _ in nz], [p for _, p in nz])
    if not env_codes:
        inf = torch.full_like(x, math.inf)
        return SplitCosts(
            zero=zero, nonzero=inf, nonzero_code=torch.zeros_like(x, dtype=torch.int64)
        )
    idx = torch.searchsorted(torch.tensor(env_breaks, dtype=dtype, device=x.device), x)
    code = torch.tensor(env_codes, dtype=torch.int64, device=x.device)[idx]
    pen = torch.tensor([penalty[c - grid.lo] for c in env_codes], dtype=dtype, device=x.device)
    nonzero = (x - code.to(dtype)) ** 2 + pen[idx]
    return SplitCosts(zero=zero, nonzero=nonzero, nonzero_code=code)


def collapse_lambda(w: torch.Tensor, grid: Grid) -> float:
    """The smallest lambda at which ECQ (Eq. 1) empties every cluster rarer than zero, with
    the information contents of the nearest-neighbour pre-assignment: the layer's collapse
    point, where (nearly) all its weights go to zero.

    In steps (x = w / step), zero beats centroid c when x^2 + lam I_0 <= (x - c)^2 + lam I_c,
    i.e. lam (I_c - I_0) >= 2xc - c^2. The right side grows with xc, so per centroid only the
    most extreme weight on its side matters; lambda_max is the largest such ratio. (The squared
    distance enters once, as 2xc - c^2.) A cluster at least as populous as zero (the neighbours
    of zero on a fine 5-bit grid) cannot be emptied at any lambda while the weights stand
    still; QAT empties it later, once the shadows drift to zero, so it does not count. 0 when
    no cluster counts (an all-zero layer)."""
    x = w.detach().flatten().to(torch.float64) / grid.step
    info = information_content(cluster_probabilities(w, grid)).tolist()
    i0 = info[-grid.lo]
    lam_max = 0.0
    for c in range(grid.lo, grid.hi + 1):
        ic = info[c - grid.lo]
        if c == 0 or math.isinf(ic) or ic <= i0:
            continue
        edge = float(x.max()) if c > 0 else float(x.min())
        gain = 2 * edge * c - c * c  # distance saved by choosing c instead of zero
        if gain > 0:
            lam_max = max(lam_max, gain / (ic - i0))
    return lam_max


def zero_preference(costs: SplitCosts) -> torch.Tensor:
    """t = ln(nonzero cost) - ln(zero cost): the zero cluster wins iff its multiplier m
    satisfies ln(m) <= t. Both costs are non-negative; clamping keeps t finite where a weight
    sits exactly on a centroid with lambda = 0."""
    tiny = torch.finfo(costs.zero.dtype).tiny
    return torch.log(costs.nonzero.clamp_min(tiny)) - torch.log(costs.zero.clamp_min(tiny))


def log_relevance_ratio(relevance: torch.Tensor) -> torch.Tensor:
    """g = ln(R / mean R) per weight, the log of the beta = 1 multiplier rho * R^beta.

    rho is fixed by the paper's normalization rho * mean(R)^beta = 1, so a weight of average
    relevance keeps its ECQ cost, a more relevant one pays more for zero, a less relevant one
    less. Relevance is clamped away from zero so that an irrelevant weight gets a large finite
    negative g instead of -inf."""
    r = relevance.detach().flatten()
    mean = r.mean()
    if not torch.isfinite(mean) or mean <= 0:
        return torch.zeros_like(r)
    floor = mean * 1e-12
    return torch.log(r.clamp_min(floor) / mean)


def choose_codes(
    costs: SplitCosts,
    g: torch.Tensor | None = None,
    beta: float = 0.0,
    t: torch.Tensor | None = None,
) -> torch.Tensor:
    """Flat codes: zero where Eq. 11's scaled zero cost, rho * R'^beta * cost_0, is at most the
    cheapest non-zero cost (compared in the log domain), else the cheapest non-zero code.
    ``g = None`` or ``beta = 0`` is plain ECQ (Eq. 1). ``t`` is ``zero_preference(costs)``
    when the caller already has it."""
    if t is None:
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

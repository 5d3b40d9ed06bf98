"""ECQx's beta search keeps the extra sparsity within p."""

import pytest
import torch

from ecqx.quantizer.assign import (
    ecq_assign,
    ecqx_assign,
    log_relevance_ratio,
    split_costs,
    zero_preference,
)
from ecqx.quantizer.beta import search_beta, zero_counts
from ecqx.quantizer.grid import make_grid


def inputs(seed, n, power, lam):
    """Weights, relevance (skewed by ``power``), grid and the beta search's two inputs."""
    torch.manual_seed(seed)
    w = torch.randn(n, dtype=torch.float64) * 0.05
    rel = torch.rand(n, dtype=torch.float64) ** power
    grid = make_grid(w, 4)
    c = split_costs(w, grid, lam)
    return w, rel, grid, log_relevance_ratio(rel), zero_preference(c)


def test_zero_counts_match_direct_assignment():
    w, rel, grid, g, t = inputs(0, 3000, 4, 0.4)
    counts = zero_counts(g, t, 64)
    assert counts.numel() == 65
    for k in [0, 1, 7, 16, 32, 50, 64]:
        assert counts[k] == int((ecqx_assign(w, grid, 0.4, rel, k / 64) == 0).sum())


@pytest.mark.parametrize("p", [0.0, 0.02, 0.1, 0.3])
def test_beta_search_keeps_extra_sparsity_within_p(p):
    w, rel, grid, g, t = inputs(1, 5000, 6, 0.3)
    beta, zeros = search_beta(g, t, p)
    ecq_zeros = int((ecq_assign(w, grid, 0.3) == 0).sum())
    got = int((ecqx_assign(w, grid, 0.3, rel, beta) == 0).sum())
    assert got == zeros
    assert got - ecq_zeros <= p * w.numel()
    # beta is the largest feasible value on the search grid
    if beta < 1.0:
        nxt = beta + 1 / 256
        over = int((ecqx_assign(w, grid, 0.3, rel, nxt) == 0).sum()) - ecq_zeros > p * w.numel()
        counts = zero_counts(g, t, 256)
        assert over or bool((counts[int(round(nxt * 256)) :] - counts[0] > p * w.numel()).any())
    if p == 0.0:
        assert got <= ecq_zeros


def test_both_bounds_also_limit_the_zeros_relevance_keeps():
    # 100 weights: 60 relevant ones that ECQ would zero (t > 0, g > 0) regrow as beta grows;
    # 10 irrelevant ones (g < 0, t < 0) go to zero at a large beta
    g = torch.cat([torch.full((60,), 1.0), torch.full((10,), -1.0), torch.zeros(30)])
    t = torch.cat([torch.linspace(0.01, 0.9, 60), torch.full((10,), -0.5), -torch.ones(30)])
    beta_extra, _ = search_beta(g, t, 0.1)
    beta_both, zeros = search_beta(g, t, 0.1, both=True)
    assert beta_extra == 1.0  # the paper's rule: only extra zeros count, and there are few
    counts = zero_counts(g, t)
    assert abs(zeros - int(counts[0])) <= 10 and beta_both < beta_extra


def test_zero_counts_over_a_wider_beta_range_and_at_the_edges():
    """Candidates beta_max * k / K match the direct assignment; weights with g == 0 count as
    zero iff ECQ zeroes them, weights with t == 0 sit exactly on their breakpoint."""
    w, rel, grid, g, t = inputs(2, 4000, 4, 0.4)
    g, t = g.clone(), t.clone()
    g[:20] = 0.0  # flat: beta has no effect
    t[20:40] = 0.0  # on the breakpoint at beta 0
    counts = zero_counts(g, t, 64, beta_max=16.0)
    assert counts.numel() == 65
    for k in [0, 1, 5, 20, 64]:
        beta = 16.0 * k / 64
        direct = (beta * g <= t) if beta > 0 else (t >= 0)
        assert counts[k] == int(direct.sum())
    beta, zeros = search_beta(g, t, 0.1, 64, beta_max=16.0)
    assert 0.0 <= beta <= 16.0 and zeros == int(counts[round(beta / 16.0 * 64)])

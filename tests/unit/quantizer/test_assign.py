"""ECQ / ECQx assignment against a brute-force per-weight argmin, grids and codes."""

import math

import pytest
import torch

from ecqx.quantizer.assign import (
    cluster_probabilities,
    collapse_lambda,
    ecq_assign,
    ecqx_assign,
)
from ecqx.quantizer.grid import make_grid, nearest_codes

BITS = [2, 3, 4, 5]


def brute_force(w, grid, lam, relevance=None, beta=0.0):
    """Eq. 1 / Eq. 11 evaluated weight by weight, centroid by centroid."""
    p = cluster_probabilities(w, grid).tolist()
    if relevance is not None:
        r = relevance.flatten().double()
        mean = float(r.mean())
    out = []
    for k, wv in enumerate(w.flatten().double().tolist()):
        best, best_c = math.inf, None
        for c in range(grid.lo, grid.hi + 1):
            pc = p[c - grid.lo]
            info = math.inf if pc == 0 else -math.log2(pc)
            cost = (wv / grid.step - c) ** 2 + lam * info
            if c == 0 and relevance is not None:
                cost *= (max(float(r[k]), mean * 1e-12) / mean) ** beta
            if cost < best:
                best, best_c = cost, c
        out.append(best_c)
    return torch.tensor(out).view(w.shape)


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("lam", [0.0, 0.3, 2.0])
def test_ecq_equals_brute_force(bits, lam):
    torch.manual_seed(bits * 10 + int(lam * 10))
    w = torch.randn(40, 30, dtype=torch.float64) * 0.05
    grid = make_grid(w, bits)
    assert torch.equal(ecq_assign(w, grid, lam), brute_force(w, grid, lam))


@pytest.mark.parametrize("bits", BITS)
@pytest.mark.parametrize("beta", [0.0, 0.4, 1.0])
def test_ecqx_equals_brute_force(bits, beta):
    torch.manual_seed(100 + bits)
    w = torch.randn(30, 25, dtype=torch.float64) * 0.05
    rel = torch.rand(30, 25, dtype=torch.float64) ** 3
    grid = make_grid(w, bits)
    got = ecqx_assign(w, grid, 0.5, rel, beta)
    assert torch.equal(got, brute_force(w, grid, 0.5, rel, beta))


@pytest.mark.parametrize("bits", BITS)
def test_lambda_zero_is_nearest_neighbour(bits):
    torch.manual_seed(bits)
    w = torch.randn(500) * 0.1
    grid = make_grid(w, bits)
    assert torch.equal(ecq_assign(w, grid, 0.0), nearest_codes(w, grid))


@pytest.mark.parametrize("bits", BITS)
def test_larger_lambda_never_lowers_sparsity(bits):
    # Trained weights are peaked at zero (Laplace-like), so the zero cluster is the most
    # populated one; under that condition a larger lambda can only move weights towards zero.
    torch.manual_seed(7 + bits)
    w = torch.distributions.Laplace(0.0, 0.02).sample((4000,))
    grid = make_grid(w, bits)
    probs = cluster_probabilities(w, grid)
    assert probs.argmax() == -grid.lo
    sparsity = [
        float((ecq_assign(w, grid, lam) == 0).float().mean())
        for lam in [0.0, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 20.0]
    ]
    assert all(b >= a for a, b in zip(sparsity, sparsity[1:])), sparsity
    assert sparsity[-1] > sparsity[0]


@pytest.mark.parametrize("bits", [2, 3, 4, 5])
def test_collapse_lambda_is_where_every_weight_goes_to_zero(bits):
    torch.manual_seed(bits)
    w = torch.randn(4000, dtype=torch.float64) * 0.05
    grid = make_grid(w, bits)
    lam_max = collapse_lambda(w, grid)
    assert 0 < lam_max < float("inf")
    p = cluster_probabilities(w, grid)
    rarer = [c for c in range(grid.lo, grid.hi + 1) if c and 0 < p[c - grid.lo] < p[-grid.lo]]
    assert rarer  # the outer clusters always are

    def used(lam):
        return set(ecq_assign(w, grid, lam).unique().tolist()) & set(rarer)

    assert used(lam_max * 1.001) == set() and used(lam_max * 0.99)
    if bits <= 4:  # every non-zero cluster is rarer than zero: all weights go
        assert int((ecq_assign(w, grid, lam_max * 1.001) != 0).sum()) == 0
    assert collapse_lambda(torch.zeros(10, dtype=torch.float64), grid) == 0.0


def test_cluster_statistics_can_leave_pruned_weights_out():
    import torch

    from ecqx.quantizer.assign import cluster_probabilities
    from ecqx.quantizer.grid import make_grid

    w = torch.tensor([0.0, 0.0, 0.0, 0.0, 1.0, -1.0, 0.02, 1.0])
    grid = make_grid(w, 3)
    live = torch.tensor([False, False, False, False, True, True, True, True])
    p_all, p_live = cluster_probabilities(w, grid), cluster_probabilities(w, grid, live)
    zero = -grid.lo
    assert p_all[zero] == 5 / 8 and p_live[zero] == 1 / 4
    assert torch.isclose(p_live.sum(), torch.tensor(1.0, dtype=p_live.dtype))

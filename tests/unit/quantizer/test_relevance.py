"""LRP weight relevance: explicit formulas, zennit path vs fast path, conservation."""

import pytest
import torch
from torch import nn

from ecqx.quantizer.relevance import LRP, ForwardTrace, GradientTimesWeight, start_relevance
from ecqx.quantizer.relevance.lrp_fast import fast_weight_relevance, linear_stack_layers
from ecqx.quantizer.relevance.lrp_zennit import zennit_weight_relevance

EPS = 1e-6


def stab(z, eps=EPS):
    return z + eps * torch.where(z >= 0, 1.0, -1.0).to(z)


def explicit_dense(model, x, target, eps=EPS):
    """R_w[j,i] = w[j,i] * sum_n a[n,i] R[n,j] / (z[n,j] + eps sign z[n,j]), written out
    with explicit per-sample loops over the layers (no autograd)."""
    linears = [m for m in model if isinstance(m, nn.Linear)]
    acts, zs = [], []
    a = x
    for i, m in enumerate(linears):
        acts.append(a)
        z = a @ m.weight.T + m.bias
        zs.append(z)
        a = torch.relu(z) if i < len(linears) - 1 else z
    R = start_relevance(zs[-1], target)
    out = [None] * len(linears)
    for i in range(len(linears) - 1, -1, -1):
        w = linears[i].weight
        rw = torch.zeros_like(w)
        rin = torch.zeros_like(acts[i])
        for n in range(x.shape[0]):
            contrib = acts[i][n][None, :] * w  # z_ij
            msg = contrib * (R[n] / stab(zs[i][n]))[:, None]
            rw += msg
            rin[n] = msg.sum(0)
        out[i] = rw
        R = rin
    return out


def mlp(seed, sizes=(10, 16, 12, 5)):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1]).double()


def explicit_conv_alphabeta(conv, x, r_out, alpha=2.0, beta=1.0, eps=EPS):
    """alpha-beta weight relevance of a Conv2d, via unfold, summed over batch and positions."""
    cols = nn.functional.unfold(x, conv.kernel_size, padding=conv.padding, stride=conv.stride)
    w = conv.weight.flatten(1)  # (O, I)
    wp, wn = w.clamp(min=0), w.clamp(max=0)
    xp, xn = cols.clamp(min=0), cols.clamp(max=0)  # (N, I, L)
    bp = conv.bias.clamp(min=0)[None, :, None]
    bn = conv.bias.clamp(max=0)[None, :, None]
    zp = torch.einsum("oi,nil->nol", wp, xp) + torch.einsum("oi,nil->nol", wn, xn) + bp
    zn = torch.einsum("oi,nil->nol", wn, xp) + torch.einsum("oi,nil->nol", wp, xn) + bn
    r = r_out.flatten(2)  # (N, O, L)
    sp, sn = r / stab(zp, eps), r / stab(zn, eps)
    pos = wp * torch.einsum("nol,nil->oi", sp, xp) + wn * torch.einsum("nol,nil->oi", sp, xn)
    neg = wn * torch.einsum("nol,nil->oi", sn, xp) + wp * torch.einsum("nol,nil->oi", sn, xn)
    return (alpha * pos - beta * neg).view_as(conv.weight)


@pytest.mark.parametrize("seed", [0, 1])
def test_dense_zennit_and_fast_equal_explicit_formula(seed):
    model = mlp(seed)
    x = torch.randn(7, 10, dtype=torch.float64)
    t = torch.randint(0, 5, (7,))
    layers = [m for m in model if isinstance(m, nn.Linear)]
    ref = explicit_dense(model, x, t)
    z = zennit_weight_relevance(model, layers, x, t, epsilon=EPS)
    with ForwardTrace(layers) as tr:
        model(x)
    f = fast_weight_relevance(layers, tr, t, EPS)
    for r, a, b in zip(ref, z, f):
        assert r.abs().max() > 0
        torch.testing.assert_close(a, r, atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(b, r, atol=1e-6, rtol=1e-6)


def test_conv_alphabeta_equals_explicit_formula():
    torch.manual_seed(3)
    conv = nn.Conv2d(2, 3, 3, padding=1).double()
    head = nn.Linear(3 * 5 * 5, 4).double()
    model = nn.Sequential(conv, nn.ReLU(), nn.Flatten(), head)
    x = torch.randn(4, 2, 5, 5, dtype=torch.float64)
    t = torch.tensor([0, 1, 2, 3])
    rel = zennit_weight_relevance(model, [conv, head], x, t, epsilon=EPS)
    # relevance at the conv output from the dense epsilon rule above it
    z1 = conv(x)
    a1 = torch.relu(z1).flatten(1)
    y = head(a1)
    s = start_relevance(y, t) / stab(y)
    torch.testing.assert_close(rel[1], head.weight * (s.T @ a1), atol=1e-6, rtol=1e-6)
    r_conv = (a1 * (s @ head.weight)).view_as(z1)
    torch.testing.assert_close(
        rel[0], explicit_conv_alphabeta(conv, x, r_conv), atol=1e-6, rtol=1e-6
    )


def test_conservation_without_bias():
    """LRP-epsilon conserves relevance in bias-free ReLU nets: every layer's weight relevance
    sums to the total starting relevance (the summed target scores)."""
    model = mlp(5, sizes=(8, 20, 20, 6))
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.zeros_(m.bias)
    x = torch.randn(9, 8, dtype=torch.float64)
    t = torch.randint(0, 6, (9,))
    layers = [m for m in model if isinstance(m, nn.Linear)]
    total = start_relevance(model(x), t).sum()
    for r in zennit_weight_relevance(model, layers, x, t, epsilon=1e-12):
        torch.testing.assert_close(r.sum(), total, atol=1e-9, rtol=1e-9)


def test_lrp_criterion_picks_paths_consistently():
    model = mlp(2).float()
    x = torch.randn(16, 10)
    t = torch.randint(0, 5, (16,))
    layers = linear_stack_layers(model)
    with ForwardTrace(layers) as tr:
        model(x)
    fast = LRP(fast=True)(model, layers, x, t, tr)
    slow = LRP(fast=False)(model, layers, x, t, None)
    for a, b in zip(fast, slow):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-4)


def test_fast_path_refuses_non_chain():
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh(), nn.Linear(4, 2))
    layers = [model[0], model[2]]
    with pytest.raises(ValueError, match="Linear/ReLU chain"):
        LRP(fast=True)(model, layers, torch.randn(2, 4), torch.tensor([0, 1]), None)


def test_gradient_times_weight_matches_autograd():
    model = mlp(4).float()
    x = torch.randn(6, 10)
    t = torch.randint(0, 5, (6,))
    layers = [m for m in model if isinstance(m, nn.Linear)]
    rel = GradientTimesWeight()(model, layers, x, t, None)
    out = model(x)
    score = (out * start_relevance(out, t)).sum()
    grads = torch.autograd.grad(score, [m.weight for m in layers])
    for r, m, g in zip(rel, layers, grads):
        torch.testing.assert_close(r, m.weight.detach() * g)

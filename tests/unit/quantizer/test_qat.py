"""Quantization-aware training: shadow weights, STE step, end-to-end on synthetic data."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ecqx.model import mlp_gsc
from ecqx.quantizer import Quantizer
from ecqx.quantizer.assign import choose_codes, split_costs, zero_preference
from ecqx.quantizer.grid import dequantize
from ecqx.quantizer.relevance import LRP, GradientTimesWeight, NoRelevance


def blobs(n=600, dim=20, classes=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=g) * 2.0
    y = torch.randint(0, classes, (n,), generator=g)
    x = centers[y] + torch.randn(n, dim, generator=g)
    return x, y


def pretrained(seed=0):
    torch.manual_seed(seed)
    model = mlp_gsc(in_features=20, num_classes=4, hidden=(64, 64, 32))
    # Gaussian init and weight decay give the zero-peaked weights ECQ expects of trained nets.
    for m in model:
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=m.in_features**-0.5)
    x, y = blobs()
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=1e-3)
    for _ in range(60):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()
    return model, x, y


def test_shadow_weights_are_real_copies_and_weights_are_codes_times_step():
    model, _, _ = pretrained()
    q = Quantizer(model, bits=3, lam=0.5)
    for s in q.layers:
        assert s.shadow.data_ptr() != s.module.weight.data_ptr()
        assert torch.equal(s.module.weight, dequantize(s.codes, s.grid))
        assert s.codes.min() >= -3 and s.codes.max() <= 3


@pytest.mark.parametrize("criterion", [LRP(), GradientTimesWeight(), NoRelevance()])
def test_qat_lowers_loss_and_reaches_sparsity(criterion):
    model, x, y = pretrained()
    q = Quantizer(model, bits=4, lam=24.0, lam_mode="size", p=0.1, criterion=criterion, lr=3e-4)
    first = F.cross_entropy(model(x), y).item()
    fp_shadow_before = [s.shadow.detach().clone() for s in q.layers]
    for _epoch in range(20):
        for i in range(0, 600, 100):
            stats = q.step(x[i : i + 100], y[i : i + 100])
    last = F.cross_entropy(model(x), y).item()
    assert last < first
    assert q.sparsity() >= 0.5
    acc = (model(x).argmax(1) == y).float().mean().item()
    assert acc > 0.9
    assert stats.sparsity == pytest.approx(q.sparsity())
    # shadows moved; model weights are still exactly codes * step
    assert any(not torch.equal(a, s.shadow) for a, s in zip(fp_shadow_before, q.layers))
    for s in q.layers:
        assert torch.equal(s.module.weight, dequantize(s.codes, s.grid))
    if isinstance(criterion, NoRelevance):
        assert all(b == 0.0 for b in stats.betas)


def test_ecqx_extra_sparsity_within_p_per_layer():
    model, x, y = pretrained(1)
    q = Quantizer(model, bits=4, lam=0.5, p=0.05, criterion=LRP())
    q.step(x[:200], y[:200])
    for s in q.layers:
        from ecqx.quantizer.assign import ecq_assign

        ecq_zero = (ecq_assign(s.shadow.detach(), s.grid, s.lam) == 0).sum().item()
        assert (s.codes == 0).sum().item() - ecq_zero <= 0.05 * s.codes.numel()


def test_conv_model_quantizes_via_zennit_path():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3)
    )
    x = torch.randn(8, 1, 4, 4)
    y = torch.randint(0, 3, (8,))
    q = Quantizer(model, bits=2, lam=0.1, criterion=LRP())
    running_mean = model[1].running_mean.clone()
    q.step(x, y)
    assert all(s.relevance is not None and s.relevance.max() == 1.0 for s in q.layers)
    # only the training forward touched BatchNorm statistics, once
    assert not torch.equal(running_mean, model[1].running_mean)
    assert {s.codes.unique().abs().max().item() for s in q.layers} <= {0, 1}


def test_state_dict_round_trip():
    model, x, y = pretrained()
    q = Quantizer(model, bits=4, lam=0.5)
    q.step(x[:100], y[:100])
    state = q.state_dict()
    model2, _, _ = pretrained()
    q2 = Quantizer(model2, bits=4, lam=0.5)
    q2.load_state_dict(state)
    for a, b in zip(q.layers, q2.layers):
        assert torch.equal(a.codes, b.codes)
        assert torch.equal(a.module.weight, b.module.weight)


@pytest.mark.parametrize("kwargs", [{"bits": 6}, {"bits": 1}, {"lam": -1.0}, {"p": 1.5}])
def test_bad_arguments_are_refused(kwargs):
    model, _, _ = pretrained()
    with pytest.raises(ValueError):
        Quantizer(model, **kwargs)


def test_lambda_scale_ramps_from_nearest_neighbour_to_full_lambda():
    """train() warms lambda up through lam_scale: 0 is plain rounding, 1 the full constraint."""
    from ecqx.quantizer.grid import nearest_codes

    model, _, _ = pretrained()
    q = Quantizer(model, bits=4, lam=64.0, lam_mode="size", p=0.0, criterion=NoRelevance())
    full = q.sparsity()
    q.lam_scale = 0.0
    q.assign()
    for s in q.layers:
        assert torch.equal(s.codes, nearest_codes(s.shadow.detach(), s.grid))
    half_way = []
    for scale in (0.25, 0.5, 1.0):
        q.lam_scale = scale
        q.assign()
        half_way.append(q.sparsity())
    assert half_way == sorted(half_way) and half_way[-1] == full > half_way[0]


def test_collapse_mode_gives_each_layer_a_share_of_its_own_collapse_point():
    from ecqx.quantizer.assign import collapse_lambda
    from ecqx.quantizer.qat import SIZE_FLOOR

    size = Quantizer(pretrained()[0], bits=4, lam=2.0, lam_mode="size")
    largest = max(s.shadow.numel() for s in size.layers)
    for s in size.layers:
        assert s.lam == pytest.approx(2.0 * s.shadow.numel() / largest)
    coll = Quantizer(pretrained()[0], bits=4, lam=0.5, lam_mode="collapse")
    for s in coll.layers:
        share = s.shadow.numel() / largest
        want = 0.5 * collapse_lambda(s.shadow.detach(), s.grid) * (share + SIZE_FLOOR) / 1.05
        assert s.lam == pytest.approx(want) and s.lam > 0
    with pytest.raises(ValueError, match="lam_mode"):
        Quantizer(pretrained()[0], lam_mode="depth")


def within_p(q):
    """Every layer's zeros stay within ECQ's plus p of the layer (the search's guarantee)."""
    for s in q.layers:
        t = zero_preference(split_costs(s.shadow.detach(), s.grid, s.lam * q.lam_scale))
        if int((s.codes == 0).sum()) > int((t >= 0).sum()) + q.p * s.codes.numel():
            return False
    return True


def test_relevance_every_k_steps_keeps_beta_between_searches_and_p_at_each_step():
    from ecqx.quantizer.relevance import LRP

    calls = []

    class Counting(LRP):
        def __call__(self, *a, **kw):
            calls.append(1)
            return super().__call__(*a, **kw)

    model, x, y = pretrained()
    q = Quantizer(model, bits=4, lam=2.0, p=0.1, criterion=Counting(), relevance_every=4)
    kept = 0
    for _ in range(10):
        before, searches = [s.beta for s in q.layers], q.searches
        q.step(x[:64], y[:64])
        assert within_p(q)  # at every step, not only at the relevance passes
        if (q.steps - 1) % 4:  # between passes a layer searches only to restore the bound
            kept += q.searches == searches
            assert q.searches > searches or [s.beta for s in q.layers] == before
        else:
            assert q.searches == searches + len(q.layers)
    assert kept > 0  # the cheap steps exist
    q.assign()
    assert within_p(q)
    assert len(calls) == 3  # steps 0, 4, 8
    with pytest.raises(ValueError, match="relevance_every"):
        Quantizer(pretrained()[0], relevance_every=0)


def test_a_kept_beta_that_breaks_the_bound_is_searched_again():
    """A kept beta above what p allows (as after the shadows moved): the assignment must
    search again rather than exceed p."""
    model, x, y = pretrained()
    q = Quantizer(model, bits=4, lam=2.0, p=0.01, relevance_every=4)
    q.step(x[:64], y[:64])
    broken = 0
    for s in q.layers:
        s.beta = q.beta_max
        costs = split_costs(s.shadow.detach(), s.grid, s.lam * q.lam_scale)
        t = zero_preference(costs)
        zeros = int((choose_codes(costs, s.log_ratio, s.beta, t) == 0).sum())
        broken += zeros > int((t >= 0).sum()) + q.p * t.numel()
    assert broken > 0  # the set-up does break the bound somewhere
    searches = q.searches
    q.assign(search=False)
    assert within_p(q) and q.searches == searches + broken


def test_training_ends_on_a_beta_search():
    """10 steps with relevance every 4th: the last step keeps beta, so qat_loop searches once
    more and the final model keeps the bound on p."""
    from ecqx.config import TrainConfig
    from ecqx.train import qat_loop

    model, x, y = pretrained()
    searches = []

    def record(q):
        assign = q.assign

        def recorded(search=True):
            searches.append(search)
            assign(search)

        q.assign = recorded

    cfg = TrainConfig(method="ecqx", epochs=1, batch=60, lam=2.0, p=0.1, relevance_every=4)
    q, _, trajectory = qat_loop(model, cfg, 4, lambda epoch: x, y, False, setup=record)
    assert len(searches) == 11 and searches[-2] is False and searches[-1] is True
    assert within_p(q)
    assert trajectory[-1] == [round(s.sparsity, 5) for s in q.layers]


def test_sparse_relevance_updates_average_over_as_many_batches():
    """An update every 4th step weighs a new batch's relevance as an update every step does,
    so the running average holds as many batches (and is as noisy) whatever the k."""
    every4 = Quantizer(pretrained()[0], relevance_every=4)
    every1 = Quantizer(pretrained()[0], relevance_every=1)
    ones = [torch.ones_like(s.shadow) for s in every4.layers]
    zeros = [torch.zeros_like(s.shadow) for s in every4.layers]
    for q in (every4, every1):
        q.update_relevance(ones)
        q.update_relevance(zeros)
    for a, b in zip(every4.layers, every1.layers):
        assert torch.allclose(a.relevance, b.relevance)
        assert torch.allclose(a.relevance, torch.full_like(a.relevance, 1 - every1.momentum))


def test_gradient_scale_modes():
    from ecqx.quantizer.qat import gradient_scale

    codes = torch.tensor([-3, -1, 0, 1, 2])
    assert gradient_scale(codes, 0.5, "centroid").tolist() == [1.5, 0.5, 1.0, 0.5, 1.0]
    assert gradient_scale(codes, 0.5, "steps").tolist() == [3.0, 1.0, 1.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="grad_scaling"):
        Quantizer(pretrained()[0], grad_scaling="magnitude")


def test_centroid_scaling_empties_the_zero_cluster_and_steps_scaling_does_not():
    """The mechanism behind the steps default: at lambda 0 (nearest-neighbour QAT), the
    centroid factor's 1/step jump at zero throws weights out of the zero bin under Adam."""

    def zero_share(mode):
        model, x, y = pretrained()
        # noisy labels keep the gradients alive, as augmented speech does on MLP_GSC
        g = torch.Generator().manual_seed(1)
        noisy = torch.rand(len(y), generator=g) < 0.3
        y = torch.where(noisy, torch.randint(0, 4, (len(y),), generator=g), y)
        q = Quantizer(model, bits=4, lam=0.0, criterion=NoRelevance(), grad_scaling=mode, lr=3e-3)
        start = q.sparsity()
        for _epoch in range(10):
            for i in range(0, 600, 50):
                q.step(x[i : i + 50], y[i : i + 50])
        return start, q.sparsity()

    start, centroid = zero_share("centroid")
    _, steps = zero_share("steps")
    assert centroid < 0.8 * start  # measured 0.125 from 0.187
    assert steps > 0.95 * start  # measured 0.184


def test_relevance_on_a_sub_batch_is_the_relevance_of_its_first_samples():
    """--relevance-batch n: the relevance pass sees the first n samples of the batch (fast
    path, trace cut to n) and equals zennit's LRP of exactly those samples."""
    model, x, y = pretrained()
    seen = []

    class Recording(LRP):
        def __call__(self, model, layers, x, target, trace):
            seen.append((len(x), None if trace is None else len(trace.inputs[0])))
            return super().__call__(model, layers, x, target, trace)

    q = Quantizer(
        model, bits=4, lam=2.0, lam_mode="size", p=0.1, criterion=Recording(), relevance_batch=16
    )
    layers = [s.module for s in q.layers]
    expected = LRP(fast=False)(model, layers, x[:16], y[:16], None)  # weights of the step
    q.step(x[:64], y[:64])
    assert seen == [(16, 16)]
    for s, r in zip(q.layers, expected, strict=True):
        r = r.abs()
        assert torch.allclose(s.relevance, r / r.max(), atol=1e-5)
    # n >= the batch is the whole batch
    a = Quantizer(pretrained()[0], bits=4, lam=2.0, p=0.1, relevance_batch=64)
    b = Quantizer(pretrained()[0], bits=4, lam=2.0, p=0.1)
    for q in (a, b):
        q.step(x[:64], y[:64])
    for sa, sb in zip(a.layers, b.layers, strict=True):
        assert torch.equal(sa.relevance, sb.relevance) and torch.equal(sa.codes, sb.codes)
    with pytest.raises(ValueError, match="relevance_batch"):
        Quantizer(pretrained()[0], relevance_batch=-1)


def test_relevance_every_1_is_the_per_step_algorithm():
    """k = 1 runs relevance and the beta search at every step, with the plain momentum: the
    same codes, relevance and betas as a quantizer that never heard of k."""

    def run(**kw):
        model, x, y = pretrained()
        q = Quantizer(model, bits=4, lam=2.0, p=0.1, **kw)
        for i in range(0, 300, 50):
            q.step(x[i : i + 50], y[i : i + 50])
        return q

    a, b = run(relevance_every=1), run()
    for sa, sb in zip(a.layers, b.layers, strict=True):
        assert torch.equal(sa.codes, sb.codes) and torch.equal(sa.relevance, sb.relevance)
        assert sa.beta == sb.beta
    assert a.momentum == 0.1 and a.steps == 6


def test_beta_max_lets_relevance_zero_more_within_p():
    from ecqx.quantizer.assign import ecq_assign

    zeros = {}
    for beta_max in (1.0, 8.0):
        model, x, y = pretrained(1)
        q = Quantizer(model, bits=4, lam=0.5, p=0.9, criterion=LRP(), beta_max=beta_max)
        q.step(x[:200], y[:200])
        zeros[beta_max] = sum(int((s.codes == 0).sum()) for s in q.layers)
        for s in q.layers:
            assert 0 <= s.beta <= beta_max
            ecq_zero = (ecq_assign(s.shadow.detach(), s.grid, s.lam) == 0).sum().item()
            assert (s.codes == 0).sum().item() - ecq_zero <= 0.9 * s.codes.numel()
        if beta_max > 1:
            assert max(s.beta for s in q.layers) > 1  # the cap of 1 was binding
    assert zeros[8.0] > zeros[1.0]
    with pytest.raises(ValueError, match="beta_max"):
        Quantizer(pretrained(1)[0], beta_max=0.5)


def test_clipped_shadows_stay_on_the_grid_and_unclipped_ones_drift_past_its_edge():
    """--clip-shadows: at 2 bits the straight-through gradient keeps pushing weights beyond
    the ternary grid's outer centroids (their code never changes); clamped, none leaves."""

    def overhang(clip):
        """Per layer, the mean distance in steps by which shadows lie beyond the outer
        centroids, before and after QAT."""
        model, x, y = pretrained()
        q = Quantizer(model, bits=2, lam=0.0, criterion=NoRelevance(), lr=1e-2, clip_shadows=clip)
        beyond = lambda: torch.tensor([float((s.shadow.detach().abs() / s.grid.step - s.grid.hi)  # noqa: E731
                                             .clamp_min(0).mean()) for s in q.layers])  # fmt: skip
        start = beyond()
        for _epoch in range(10):
            for i in range(0, 600, 50):
                q.step(x[i : i + 50], y[i : i + 50])
        return start, beyond(), q

    start, drifted, _ = overhang(False)
    _, clipped, q = overhang(True)
    assert (start > 0.05).all() and (drifted > 1.15 * start).all()  # measured 1.2-1.6x
    assert (clipped == 0).all()
    for s in q.layers:
        assert torch.equal(s.module.weight, dequantize(s.codes, s.grid))
    assert all(row["overhang"] == 0 for row in q.layer_report())
    _, _, unclipped = overhang(False)
    assert any(row["overhang"] > 0 for row in unclipped.layer_report())

"""Benchmark of the quantizer's building blocks on MLP_GSC-shaped weights: prints a table.

Run ``ecqx bench`` (or ``python benchmarks/bench_quantizer.py``). Numbers are wall-clock on
this machine's CPU; the ECQx/ECQ ratio is the figure to compare with the paper's 1.2x.
``--arch vgg16bn|vgg16|resnet18`` times the full QAT steps of a conv net on random 32x32
images instead (the paper: ECQx 2.4x ECQ for VGG16, 3.2x for ResNet18, on a GPU).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from statistics import median

from ecqx.config import ARCHS, TrainConfig

CYCLE = 8  # steps per timed block: a whole cycle of every variant's relevance schedule


def timeit(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats * 1e3


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument(
        "--repeats",
        type=int,
        default=10,
        help="timed repetitions; full QAT steps: "
        f"rounds of {CYCLE} steps, the variants taking turns (default 10)",
    )
    ap.add_argument("--batch", type=int, default=256, help="batch size (default 256)")
    ap.add_argument("--bits", type=int, default=4, help="bit width 2..5 (default 4)")
    d = TrainConfig()  # the step timed is the one `ecqx train` takes by default
    ap.add_argument("--lam", type=float, default=d.lam, help=f"ECQ lambda (default {d.lam:g})")
    ap.add_argument("--p", type=float, default=d.p, help=f"ECQx p (default {d.p:g})")
    ap.add_argument("--arch", default=ARCHS[0], choices=ARCHS,
                    help="mlp_gsc (default), or a conv net: vgg16, vgg16bn, resnet18")  # fmt: skip
    ap.add_argument("--width", type=float, default=0.125,
                    help="conv nets: channel-width multiplier (default 0.125)")  # fmt: skip


# (name, method, relevance every k-th step, relevance sub-batch; 0 = the whole batch)
STEP_VARIANTS = (("ECQ", "ecq", 1, 0), ("ECQx", "ecqx", 1, 0),
                 ("ECQx, relevance every 4th step", "ecqx", 4, 0),
                 ("ECQx, relevance every 8th step", "ecqx", 8, 0),
                 ("ECQx, every 4th step on 64 samples", "ecqx", 4, 64),
                 ("ECQx, every 8th step on 64 samples", "ecqx", 8, 64))  # fmt: skip


def time_steps(steps: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """ms per step of each variant, one figure per round of ``CYCLE`` steps. The variants take
    turns round by round, so a slow spell of a shared machine hits all of them alike: the
    ratio of two variants is then taken within each round (``print_steps``)."""
    for fn in steps.values():
        fn()  # warm-up
    rounds = max(repeats // CYCLE, 1)
    times: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(rounds):
        for name, fn in steps.items():
            t0 = time.perf_counter()
            for _ in range(CYCLE):
                fn()
            times[name].append((time.perf_counter() - t0) / CYCLE * 1e3)
    return times


def print_steps(title: str, times: dict[str, list[float]]) -> None:
    """Median ms per step, and each variant / ECQ as the median of the per-round ratios with
    their range (the spread between rounds says how much to trust the ratio)."""
    if title:
        print(title)
    print(f"{'full QAT step (median of ' + str(len(times['ECQ'])) + ' rounds)':45s} {'ms':>9s}")
    for name, ms in times.items():
        print(f"{name:45s} {median(ms):9.1f}")
    for name, ms in times.items():
        if name not in ("ECQ", "float SGD step"):
            ratios = [a / b for a, b in zip(ms, times["ECQ"], strict=True)]
            print(f"{name + ' / ECQ':45s} {median(ratios):9.2f}x"
                  f"   (rounds {min(ratios):.2f}..{max(ratios):.2f})")  # fmt: skip


def run_conv(args: argparse.Namespace) -> None:
    """Full QAT step times of a conv net: float, ECQ, ECQx (every step, every 4th, 8th)."""
    import torch
    import torch.nn.functional as F

    from ecqx.model import vision
    from ecqx.quantizer import Quantizer
    from ecqx.quantizer.relevance import criterion_for

    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))
    net = vision.build(args.arch, 10, args.width)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)

    def sgd() -> None:
        opt.zero_grad()
        F.cross_entropy(net(x), y).backward()
        opt.step()

    steps = {"float SGD step": sgd}
    for name, method, every, sub in STEP_VARIANTS:
        net = vision.build(args.arch, 10, args.width)
        q = Quantizer(net, bits=args.bits, lam=args.lam, p=args.p,
                      criterion=criterion_for(method), relevance_every=every,
                      relevance_batch=sub)  # fmt: skip
        steps[name] = lambda q=q: q.step(x, y)
    weights = sum(s.codes.numel() for s in q.layers)
    print_steps(f"{args.arch} x{args.width:g}, {weights:,} weights, batch {args.batch}, "
                f"{args.bits} bits, torch threads {torch.get_num_threads()}",
                time_steps(steps, args.repeats))  # fmt: skip


def run(args: argparse.Namespace) -> None:
    if args.arch != "mlp_gsc":
        return run_conv(args)
    # imported here so that `ecqx --help` (which adds this command's options) stays fast
    import torch
    from torch import nn

    from ecqx.model import mlp_gsc
    from ecqx.quantizer import Quantizer
    from ecqx.quantizer.assign import (
        ecq_assign,
        log_relevance_ratio,
        split_costs,
        zero_preference,
    )
    from ecqx.quantizer.beta import search_beta
    from ecqx.quantizer.relevance import LRP, ForwardTrace, NoRelevance, criterion_for

    torch.manual_seed(0)
    model = mlp_gsc()
    layers = [m for m in model if isinstance(m, nn.Linear)]
    x = torch.randn(args.batch, 735)
    y = torch.randint(0, 12, (args.batch,))
    grids = Quantizer(mlp_gsc(), bits=args.bits, lam=args.lam, criterion=NoRelevance()).layers
    rel = [torch.rand_like(m.weight) ** 4 for m in layers]

    def ecq_assignment() -> None:
        for s, m in zip(grids, layers):
            ecq_assign(m.weight.detach(), s.grid, s.lam)

    def ecqx_assignment() -> None:
        for s, m, r in zip(grids, layers, rel):
            c = split_costs(m.weight.detach(), s.grid, s.lam)
            g, t = log_relevance_ratio(r), zero_preference(c)
            beta, _ = search_beta(g, t, args.p)
            _ = beta * g <= t

    def relevance_zennit() -> None:
        LRP(fast=False)(model, layers, x, y, None)

    def relevance_fast() -> None:
        with ForwardTrace(layers) as tr, torch.no_grad():
            model(x)
        LRP(fast=True)(model, layers, x, y, tr)

    rows = [
        ("ECQ assignment (all layers)", timeit(ecq_assignment, args.repeats)),
        ("ECQx assignment incl. beta search", timeit(ecqx_assignment, args.repeats)),
        ("LRP relevance, zennit path", timeit(relevance_zennit, args.repeats)),
        ("LRP relevance, fast path (incl. forward)", timeit(relevance_fast, args.repeats)),
    ]
    steps = {}
    for name, method, every, sub in STEP_VARIANTS:
        q = Quantizer(mlp_gsc(), bits=args.bits, lam=args.lam, p=args.p,
                      criterion=criterion_for(method), relevance_every=every,
                      relevance_batch=sub)  # fmt: skip
        steps[name] = lambda q=q: q.step(x, y)
    title = (f"MLP_GSC, {sum(m.weight.numel() for m in layers):,} weights, batch {args.batch}, "
             f"{args.bits} bits, torch threads {torch.get_num_threads()}")  # fmt: skip
    print(title)
    print(f"{'operation':45s} {'ms':>9s}")
    for name, ms in rows:
        print(f"{name:45s} {ms:9.1f}")
    print_steps("", time_steps(steps, args.repeats))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    add_arguments(ap)
    run(ap.parse_args())


if __name__ == "__main__":
    main()

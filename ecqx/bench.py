"""Benchmark of the quantizer's building blocks on MLP_GSC-shaped weights: prints a table.

Run ``ecqx bench`` (or ``python benchmarks/bench_quantizer.py``). Numbers are wall-clock on
this machine's CPU; the ECQx/ECQ ratio is the figure to compare with the paper's 1.2x.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable


def timeit(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    t0 = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - t0) / repeats * 1e3


def add_arguments(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--repeats", type=int, default=10, help="timed repetitions (default 10)")
    ap.add_argument("--batch", type=int, default=256, help="batch size (default 256)")
    ap.add_argument("--bits", type=int, default=4, help="bit width 2..5 (default 4)")
    ap.add_argument("--lam", type=float, default=8.0, help="ECQ lambda (default 8)")


def run(args: argparse.Namespace) -> None:
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
    from ecqx.quantizer.relevance import LRP, ForwardTrace, NoRelevance

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
            beta, _ = search_beta(g, t, 0.1)
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
    for name, crit, every in [("ECQ", NoRelevance(), 1), ("ECQx", LRP(), 1),
                              ("ECQx, relevance every 4th step", LRP(), 4),
                              ("ECQx, relevance every 8th step", LRP(), 8)]:  # fmt: skip
        q = Quantizer(mlp_gsc(), bits=args.bits, lam=args.lam, criterion=crit,
                      relevance_every=every)  # fmt: skip
        # a multiple of every k, so the mean covers whole cycles
        steps[name] = timeit(lambda q=q: q.step(x, y), max(args.repeats, 8) // 8 * 8)
        rows.append((f"full QAT step, {name}", steps[name]))
    print(
        f"MLP_GSC, {sum(m.weight.numel() for m in layers):,} weights, batch {args.batch}, "
        f"{args.bits} bits, torch threads {torch.get_num_threads()}"
    )
    print(f"{'operation':45s} {'ms':>9s}")
    for name, ms in rows:
        print(f"{name:45s} {ms:9.1f}")
    for name in steps:
        if name != "ECQ":
            print(f"{name + ' / ECQ':45s} {steps[name] / steps['ECQ']:9.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    add_arguments(ap)
    run(ap.parse_args())


if __name__ == "__main__":
    main()

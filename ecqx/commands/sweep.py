"""``ecqx sweep``: the paper's ECQ vs ECQx grid with its figures."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecqx.commands.options import (
    DEFAULT_DATA,
    add_data,
    add_out,
    add_schedule_options,
    bits,
    config_from,
    listed,
    method,
)

HELP = "ECQ vs ECQx grid over lambda, p and bit width, with the paper's figures"
DESCRIPTION = (
    "Train one quantized model per grid point (methods x bits x lambdas x p; ECQ ignores p), "
    "sharing one pre-trained float model. Resumable: finished points are kept. Writes "
    "results.csv (sparsity, top-1 float/quantized/integer, NNC bytes, QAT epoch time) and the "
    "figures: top-1 vs sparsity per bit width (ECQ vs ECQx), top-1 vs NNC size per bit width, "
    "weight vs relevance of the sparsest ECQx run's input and output layers."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data(p, str(DEFAULT_DATA), f"Speech Commands folder (default {DEFAULT_DATA})")
    add_out(p, "runs/sweep", "sweep folder (default runs/sweep)")
    p.add_argument("--methods", type=listed(method), default=["ecq", "ecqx"],
                   help="comma-separated, of ecq, ecqx (default both)")  # fmt: skip
    p.add_argument("--bits", type=listed(bits), default=[4],
                   help="comma-separated bit widths (default 4)")  # fmt: skip
    p.add_argument("--lams", type=listed(float), default=[32.0, 128.0, 512.0, 1024.0],
                   help="comma-separated lambdas (default 32,128,512,1024)")  # fmt: skip
    p.add_argument("--ps", type=listed(float), default=[0.1],
                   help="comma-separated ECQx p values (default 0.1)")  # fmt: skip
    add_schedule_options(p)


def run(args: argparse.Namespace) -> int:
    base = config_from(args, single_run=False)
    from ecqx.sweep import grid, sweep
    from ecqx.sweep_plots import draw_figures

    out = Path(args.out)
    points = grid(args.methods, args.bits, args.lams, args.ps)
    print(f"{len(points)} grid points -> {out / 'results.csv'}")
    rows = sweep(Path(args.data), out, points, base)
    print(f"{len(rows)} runs in {out / 'results.csv'}")
    for f in draw_figures(rows, out):
        print(f"figure: {f}")
    return 0

"""``ecqx sweep``: the paper's ECQ vs ECQx grid with its figures."""

from __future__ import annotations

import argparse
import sys
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
    positive_int,
)
from ecqx.config import SWEEP_LAMS, TrainConfig

HELP = "ECQ vs ECQx grid over lambda, p, bit width and seed on Ray, with the paper's figures"
DESCRIPTION = (
    "Train one quantized model per grid point (methods x bits x lambdas x p x seeds; ECQ "
    "ignores p), one Ray job each: on this machine by default, on a Ray cluster with "
    "--address. The points of a seed share one pre-trained float model. Resumable: finished "
    "points are kept; a failed point is reported and the others go on. Writes results.csv "
    "(per run: sparsity, top-1 float/quantized/integer, NNC bytes, QAT epoch time), "
    "summary.csv (mean and std over seeds) and the figures: top-1 vs sparsity per bit width "
    "(ECQ vs ECQx, error bars over seeds), top-1 vs NNC size per bit width, per-layer sparsity "
    "trajectories, weight vs relevance of the sparsest ECQx run's input and output layers."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data(p, str(DEFAULT_DATA), f"Speech Commands folder (default {DEFAULT_DATA})")
    add_out(p, "runs/sweep", "sweep folder (default runs/sweep)")
    p.add_argument("--methods", type=listed(method), default=["ecq", "ecqx"],
                   help="comma-separated, of ecq, ecqx (default both)")  # fmt: skip
    p.add_argument("--bits", type=listed(bits), default=[4],
                   help="comma-separated bit widths (default 4)")  # fmt: skip
    grids = "; ".join(f"{m}: {','.join(f'{v:g}' for v in SWEEP_LAMS[m])}" for m in SWEEP_LAMS)
    p.add_argument("--lams", type=listed(float), default=None,
                   help=f"comma-separated lambdas (default by --lam-mode, {grids})")  # fmt: skip
    d = TrainConfig()
    p.add_argument("--ps", type=listed(float), default=[d.p],
                   help=f"comma-separated ECQx p values (default {d.p:g})")  # fmt: skip
    add_schedule_options(p, seeds=True)
    p.add_argument("--workers", type=positive_int, default=None,
                   help="runs trained at once (default: Ray's CPUs / --threads)")  # fmt: skip
    p.add_argument("--threads", type=positive_int, default=1,
                   help="torch threads (and Ray CPUs) per run (default 1)")  # fmt: skip
    p.add_argument("--address", default=None,
                   help="join this Ray cluster (host:port, or auto) instead of starting one on "
                   "this machine; --data and --out must be on storage every node sees")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    base = config_from(args, single_run=False)
    from ecqx.report import percent
    from ecqx.sweep import grid, sweep
    from ecqx.sweep_plots import draw_figures
    from ecqx.sweep_tables import summarize, working_points

    out = Path(args.out)
    lams = args.lams if args.lams is not None else list(SWEEP_LAMS[base.lam_mode])
    points = grid(args.methods, args.bits, lams, args.ps, args.seeds)
    print(f"{len(points)} grid points -> {out / 'results.csv'}")
    res = sweep(Path(args.data), out, points, base, workers=args.workers, threads=args.threads,
                address=args.address, device=args.device)  # fmt: skip
    print(f"{len(res.rows)} runs in {out / 'results.csv'}, summary in {out / 'summary.csv'}")
    for f in draw_figures(res.rows, out):
        print(f"figure: {f}")
    for name_, picks in working_points(summarize(res.rows)).items():
        for name, s in picks.items():
            what = "none" if s is None else (
                f"lambda {float(s['lam']):g} p {float(s['p']):g}: sparsity "
                f"{percent(s['sparsity_mean'])}, top-1 {percent(s['top1_quantized_mean'])} vs "
                f"float {percent(s['top1_float_mean'])} ({s['n']} seed(s))")  # fmt: skip
            print(f"working point {name_} {name}: {what}")
    if res.failed:
        print(f"ecqx sweep: {len(res.failed)} job(s) failed (finished points are kept; run "
              "the same command again to retry them):", file=sys.stderr)  # fmt: skip
        for name, err in res.failed.items():
            print(f"  {name}: {err}", file=sys.stderr)
        return 1
    return 0

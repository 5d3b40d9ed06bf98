"""``ecqx pipeline``: the whole job end to end (what scripts/run.sh runs)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecqx.commands.data_synth import add_size
from ecqx.commands.export import add_board
from ecqx.commands.hil import add_limit
from ecqx.commands.options import add_train_options, config_from, out_folder

HELP = "the whole job end to end (what scripts/run.sh runs)"
DESCRIPTION = (
    "Synthesize the default data (unless --data), train and quantize, export every format, "
    "build the firmware for an emulated Cortex-M with PlatformIO, run the HIL check on the "
    "test split, and print a summary. Re-running reuses finished steps."
)
DEFAULT_WORK = "runs/pipeline"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", default=None,
                   help="use this Speech Commands folder instead of synthesizing one into "
                   "WORK/gsc-synth")  # fmt: skip
    add_size(p)
    p.add_argument("--work", default=DEFAULT_WORK, type=out_folder,
                   help="work folder: synthesized data, training run, exports, HIL report "
                   f"(default {DEFAULT_WORK})")  # fmt: skip
    add_board(p, "emulated board for the firmware and HIL check")
    add_limit(p)
    add_train_options(p)


def run(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    from ecqx.pipeline import run_pipeline

    report = run_pipeline(Path(args.work), cfg, args.board, data=args.data, size=args.size,
                          limit=args.limit, device=args.device)  # fmt: skip
    print("\n== summary ==")
    print(report.summary())
    return 0 if report.hil_bit_exact else 1

"""``ecqx holdout``: leave one speech-engine family out of training and test on it."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecqx.commands.options import (
    DEFAULT_DATA,
    add_data,
    add_out,
    add_train_options,
    config_from,
    family,
    listed,
)

HELP = "leave one speech-engine family out: train on the others, test on it"
DESCRIPTION = (
    "Generalization beyond the synthesizers: for each engine family of a synthesized stand-in "
    "(e.g. espeak, flite, festival), train on the speakers of the other families (float, then "
    "ECQ/ECQx with the training options below) and report top-1 on every clip of the held-out "
    "family, float and quantized, next to the in-domain test top-1. Writes holdout.csv and "
    "holdout.md; finished families are reused."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data(p, str(DEFAULT_DATA), f"a stand-in made by `ecqx data synth` (default {DEFAULT_DATA})")
    add_out(p, "runs/holdout", "output folder, one training run per family (default runs/holdout)")
    p.add_argument("--families", type=listed(family), default=None,
                   help="comma-separated families to hold out (default: every family)")  # fmt: skip
    add_train_options(p)


def run(args: argparse.Namespace) -> int:
    cfg = config_from(args)
    from ecqx.holdout import RESULTS, TABLE, holdout, table

    rows = holdout(Path(args.data), Path(args.out), cfg, args.families, device=args.device)
    print(table(rows))
    print(f"results: {Path(args.out) / RESULTS}, {Path(args.out) / TABLE}")
    return 0

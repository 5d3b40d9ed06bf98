"""``ecqx data synth``: the offline Speech Commands stand-in."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecqx.commands.options import add_out

HELP = "generate the offline Speech Commands stand-in"
DESCRIPTION = (
    "Synthesize a Google Speech Commands stand-in (same layout, all 35 words, speaker-disjoint "
    "validation/testing lists) with espeak-ng and flite. Resumable."
)
SIZES = ("tiny", "small", "default")


def add_size(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--size",
        choices=SIZES,
        default="default",
        help="tiny: 6 speakers (tests, seconds); small: 40; default: 300 speakers "
        "(~10k clips, a few minutes on 2 cores)",
    )


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_out(p, None, "output folder", required=True)
    add_size(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument(
        "--force",
        action="store_true",
        help="if --out holds a stand-in made with another --size/--seed, delete it and start "
        "over (without --force that is refused: resuming would mix the two speaker splits)",
    )


def run(args: argparse.Namespace) -> int:
    from ecqx.data.synth import generate

    s = generate(Path(args.out), size=args.size, seed=args.seed, workers=args.workers,
                 force=args.force)  # fmt: skip
    print(f"wrote {s['clips']} clips from {s['speakers']} speakers to {args.out}")
    if s["failures"]:
        print(f"{len(s['failures'])} clips failed, e.g. {s['failures'][0]}", file=sys.stderr)
    return 0

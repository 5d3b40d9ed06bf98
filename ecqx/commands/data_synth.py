"""``ecqx data synth``: the offline Speech Commands stand-in."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecqx.commands.options import add_out, family, listed
from ecqx.data.corpus import SIZES, clips_per_speaker
from ecqx.data.voices import DEFAULT_FAMILIES, FAMILIES, WARP_RANGE

HELP = "generate the offline Speech Commands stand-in"
DESCRIPTION = (
    "Synthesize a Google Speech Commands stand-in (same layout, all 35 words, speaker-disjoint "
    "validation/testing lists) with speech-engine families (by default espeak-ng, flite and "
    "Festival; also Festival's foreign voices and a neural one, Piper), each "
    "utterance augmented towards real recordings (tempo, pitch, vocal-tract length, room, "
    "channel, noise and babble, gain, clipping). Deterministic for a seed; resumable."
)


def add_size(p: argparse.ArgumentParser) -> None:
    sizes = "; ".join(f"{k}: {n} speakers ({n * clips_per_speaker():,} clips)"
                      for k, n in SIZES.items())  # fmt: skip
    p.add_argument("--size", choices=tuple(SIZES), default="default",
                   help=f"{sizes} (default: default)")  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_out(p, None, "output folder", required=True)
    add_size(p)
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--families", type=listed(family), default=list(DEFAULT_FAMILIES),
                   help=f"comma-separated engine families of the speakers, of {','.join(FAMILIES)}"
                   f" (default {','.join(DEFAULT_FAMILIES)}; accented: Festival's Italian, "
                   "Czech, Finnish and Catalan voices reading English; neural: Piper, a VITS "
                   "synthesizer with a voice trained on recorded US English)")  # fmt: skip
    p.add_argument("--warp", type=listed(float), default=WARP_RANGE, metavar="LO,HI",
                   help="range of each speaker's vocal-tract-length factor (formants scale by "
                   "it; humans span about 0.8,1.2) (default "
                   f"{WARP_RANGE[0]:g},{WARP_RANGE[1]:g})")  # fmt: skip
    p.add_argument("--test-only", action="store_true",
                   help="list every clip for testing: a held-out set (e.g. of one family, made "
                   "with another --seed) to evaluate models trained elsewhere")  # fmt: skip
    p.add_argument(
        "--force",
        action="store_true",
        help="if --out holds a stand-in made with other settings, delete it and start over "
        "(without --force that is refused: resuming would mix the two speaker splits)",
    )


def run(args: argparse.Namespace) -> int:
    from ecqx.data.synth import generate

    s = generate(Path(args.out), size=args.size, seed=args.seed, workers=args.workers,
                 force=args.force, families=tuple(args.families),
                 test_only=args.test_only, warp_range=args.warp)  # fmt: skip
    shares = ", ".join(f"{f} {v['speakers']}" for f, v in s["family_share"].items())
    print(f"wrote {s['clips']} clips from {s['speakers']} speakers ({shares}) to {args.out}")
    if s["failures"]:
        print(f"{len(s['failures'])} speakers failed, e.g. {s['failures'][0]}", file=sys.stderr)
    return 0

"""``ecqx data images``: the offline image stand-in for the conv nets (CIFAR-10's place)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecqx.commands.options import add_out

HELP = "generate the offline image stand-in (digits rendered to 32x32 RGB)"
DESCRIPTION = (
    "Render scikit-learn's bundled handwritten digits (8x8) to 32x32 RGB images - random size, "
    "rotation, shear, position, colours on a gradient background, blur and noise - as an "
    "ImageFolder (train/<digit>/, test/<digit>/; test digits from other source images than "
    "training ones). The stand-in for CIFAR-10 that `ecqx train --arch vgg16bn` reads; the "
    "same seed writes the same bytes."
)
SIZES_TEXT = "tiny: ~270 images; default: ~5,750 training + ~720 test images"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ecqx.data.image_synth import SIZES  # numpy only: --help stays fast

    add_out(p, None, "output folder (replaced if it exists)", required=True)
    p.add_argument(
        "--size", choices=tuple(SIZES), default="default", help=f"{SIZES_TEXT} (default: default)"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def run(args: argparse.Namespace) -> int:
    from ecqx.data.image_synth import synthesize_images

    info = synthesize_images(Path(args.out), args.size, args.seed)
    print(
        f"{info['images']['train']} training and {info['images']['test']} test images in {args.out}"
    )
    return 0

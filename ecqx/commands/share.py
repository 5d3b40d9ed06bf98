"""``ecqx share``: k-means weight sharing vs ECQ's uniform grid on a run's float model."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecqx.commands.options import add_out, bits, listed

HELP = "compare k-means weight sharing with the uniform grid at equal centroid counts"
DESCRIPTION = (
    "Replace every layer's weights of a run's full-precision model (--model, the folder of "
    "`ecqx train`) by k-means cluster centroids (non-uniform weight sharing) or by ECQ's "
    "uniform grid with nearest-centroid assignment, at the same number of centroids "
    "(2^b - 1 for --bits b), without fine-tuning; print test top-1 and the NNC bytes of the "
    "indices plus codebook, and write weight_sharing.csv to --out."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="folder written by `ecqx train --out`")
    add_out(p, None, "folder for weight_sharing.csv (default: --model)")
    p.add_argument(
        "--bits",
        type=listed(bits),
        default=[2, 3, 4, 5],
        help="comma-separated bit widths; each compares 2^b - 1 centroids (default 2,3,4,5)",
    )
    p.add_argument("--seed", type=int, default=0, help="k-means seed (default 0)")


def run(args: argparse.Namespace) -> int:
    from ecqx.weight_sharing import compare, table, write

    rows = compare(Path(args.model), args.bits, args.seed)
    print(table(rows))
    print(f"table: {write(rows, Path(args.out or args.model))}")
    return 0

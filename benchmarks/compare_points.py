"""ECQx working points against ECQ's curve at equal sparsity, seed by seed.

The points may come from several sweeps (one per p or --beta-max, each its own folder); the
reference curve is one sweep's runs over lambda. For every point and seed the reference top-1
is read off the same seed's curve at the point's sparsity (``ecqx.sweep_tables.against_curve``),
so the seed's float model cancels out of the difference.

    python benchmarks/compare_points.py --curve runs/ecq/results.csv \\
        --points "p 0.5=runs/p05/results.csv" --points "p 0.9, beta max 16=runs/bm16/results.csv"

Prints a Markdown table; "beyond spread" says whether |mean| exceeds the std over seeds.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from ecqx.sweep_tables import against_curve


def read(path: Path) -> list[dict]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--curve", type=Path, required=True, help="results.csv of the reference sweep")
    ap.add_argument("--points", action="append", default=[], metavar="LABEL=CSV",
                    help="a label and the results.csv of the points (repeatable)")  # fmt: skip
    ap.add_argument("--bits", type=int, default=4, help="bit width (default 4)")
    args = ap.parse_args()
    curve = read(args.curve)
    print(
        "| points | lambda | seeds | sparsity | top-1 | curve at that sparsity | difference (pp) "
        "| beyond spread |"
    )
    print("|---" * 8 + "|")
    for item in args.points:
        label, _, path = item.rpartition("=")
        for c in against_curve(read(Path(path)), curve, args.bits):
            beyond = c["seeds"] > 1 and abs(c["diff_mean"]) > c["diff_std"]
            print(f"| {label} | {c['lam']:g} | {c['seeds']} | {100 * c['sparsity']:.1f}% | "
                  f"{100 * c['top1']:.1f}% | {100 * c['curve_top1']:.1f}% | "
                  f"{100 * c['diff_mean']:+.1f} +- {100 * c['diff_std']:.1f} | "
                  f"{'yes' if beyond else 'no'} |")  # fmt: skip


if __name__ == "__main__":
    main()

"""``ecqx prune``: explanation-driven pruning of a trained run, with fine-tuning."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecqx.commands.options import add_out

HELP = "prune a trained run by relevance (or magnitude) and fine-tune it"
DESCRIPTION = (
    "Score every weight of a trained run (--model) by its relevance (LRP, DeepLIFT, gradient x "
    "weight, summed over 1,024 training examples) or by magnitude, remove the lowest-scoring "
    "share of each layer's weights (--structure weights) or of its units / conv filters "
    "(--structure units; the output layer stays whole), then fine-tune with the run's own "
    "ECQ/ECQx QAT (its entropy term counting the live weights only). Writes a run folder that "
    "`ecqx export` takes, with the removed share and top-1 before and after in metrics.json."
)
CRITERIA_TEXT = "lrp, deeplift, gradxw (relevance) or magnitude (the baseline)"


def ratio(value: str) -> float:
    try:
        r = float(value)
    except ValueError:
        r = -1.0
    if not 0.0 <= r < 1.0:
        raise argparse.ArgumentTypeError(f"ratio must lie in [0, 1), got {value!r}")
    return r


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ecqx.config import DEVICES, PRUNE_CRITERIA, PRUNE_STRUCTURES

    p.add_argument("--model", required=True, help="folder written by `ecqx train --out`")
    add_out(p, None, "output folder of the pruned run", required=True)
    p.add_argument(
        "--ratio",
        type=ratio,
        required=True,
        help="share of each layer's weights (or units) to remove, 0 <= ratio < 1",
    )
    p.add_argument(
        "--structure",
        choices=PRUNE_STRUCTURES,
        default=PRUNE_STRUCTURES[0],
        help="weights: single weights (unstructured); units: whole units / conv "
        f"filters (structured) (default {PRUNE_STRUCTURES[0]})",
    )
    p.add_argument(
        "--criterion",
        default="lrp",
        choices=PRUNE_CRITERIA,
        help=f"what ranks the weights: {CRITERIA_TEXT} (default lrp)",
    )
    p.add_argument(
        "--epochs", type=int, default=2, help="fine-tuning epochs after pruning (default 2)"
    )
    p.add_argument(
        "--device", choices=DEVICES, default="auto", help="where to fine-tune (default auto)"
    )


def run(args: argparse.Namespace) -> int:
    from ecqx.prune import prune
    from ecqx.report import percent
    from ecqx.train import metrics_table

    m = prune(
        Path(args.model),
        Path(args.out),
        args.ratio,
        args.structure,
        args.criterion,
        args.epochs,
        args.device,
    )
    pr = m["prune"]
    print(metrics_table(m))
    print(
        f"removed {percent(pr['removed_share'])} of the weights ({args.structure}, by "
        f"{args.criterion}); test top-1 {percent(pr['top1_before'])} before, "
        f"{percent(pr['top1_pruned'])} just after pruning, "
        f"{percent(m['top1_quantized']['testing'])} after {args.epochs} fine-tuning epochs"
    )
    return 0

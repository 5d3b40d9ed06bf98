"""``ecqx train``: pre-training and ECQ/ECQx quantization-aware training of MLP_GSC."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecqx.commands.options import DEFAULT_DATA, add_data, add_out, add_train_options, config_from

HELP = "pre-train MLP_GSC and quantize it with ECQ/ECQx"
DESCRIPTION = (
    "Full-precision pre-training (SGD, cosine), then ECQ/ECQx quantization-aware training "
    "(Adam 1e-3 with cosine decay, lambda warm-up) of every layer. Writes model.npz (the "
    "checkpoint) and metrics.json to --out."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data(p, str(DEFAULT_DATA),
             f"Speech Commands folder (real or synthesized; default {DEFAULT_DATA})")  # fmt: skip
    add_out(p, None, "output folder (later commands take it as --model)", required=True)
    add_train_options(p)


def run(args: argparse.Namespace) -> int:
    cfg = config_from(args)  # a bad option fails before the data is loaded
    from ecqx.data.features import MfccParams
    from ecqx.data.gsc import GSCData
    from ecqx.run import RunDir
    from ecqx.train import metrics_table, train

    out = Path(args.out)
    data = GSCData(Path(args.data), params=MfccParams(arithmetic=cfg.features))
    m = train(data, out, cfg, device=args.device)
    print(metrics_table(m))
    print(f"checkpoint: {RunDir(out).checkpoint}\nmetrics:    {RunDir(out).metrics}")
    return 0

"""``ecqx train``: pre-training and ECQ/ECQx quantization-aware training of MLP_GSC."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecqx.commands.options import (
    DEFAULT_DATA,
    add_data,
    add_model_options,
    add_out,
    add_train_options,
    config_from,
)

HELP = "pre-train MLP_GSC (or a conv net) and quantize it with ECQ/ECQx"
DESCRIPTION = (
    "Full-precision pre-training (SGD, cosine), then ECQ/ECQx quantization-aware training "
    "(Adam 1e-3 with cosine decay, lambda warm-up) of every Linear/Conv layer (BatchNorm "
    "trains in float beside them). Writes model.npz (the checkpoint) and metrics.json to --out. "
    "--arch picks MLP_GSC on Speech Commands (default) or VGG16/VGG16-BN/ResNet18 on 32x32 "
    "images."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_data(p, str(DEFAULT_DATA),
             f"Speech Commands folder (real or synthesized; default {DEFAULT_DATA})")  # fmt: skip
    add_out(p, None, "output folder (later commands take it as --model)", required=True)
    add_train_options(p)
    add_model_options(p)


def run(args: argparse.Namespace) -> int:
    cfg = config_from(args)  # a bad option fails before the data is loaded
    from ecqx.config import IMAGE_ARCHS

    if cfg.arch in IMAGE_ARCHS:
        return run_images(args, cfg)
    from ecqx.data.features import params_for
    from ecqx.data.gsc import GSCData
    from ecqx.run import RunDir
    from ecqx.train import metrics_table, train

    out = Path(args.out)
    data = GSCData(Path(args.data), params=params_for(cfg))
    m = train(data, out, cfg, device=args.device)
    print(metrics_table(m))
    print(f"checkpoint: {RunDir(out).checkpoint}\nmetrics:    {RunDir(out).metrics}")
    return 0


def run_images(args: argparse.Namespace, cfg: object) -> int:
    from ecqx.data.images import load_images
    from ecqx.run import RunDir
    from ecqx.train import metrics_table
    from ecqx.train_images import train_images

    if Path(args.data) == DEFAULT_DATA:
        from ecqx.errors import EcqxError

        raise EcqxError(f"--arch {args.arch} trains on images: pass --data (CIFAR-10 python "
                        "batches, or train/ and test/ class folders; `ecqx data images --out "
                        "DIR` makes the stand-in)")  # fmt: skip
    out = Path(args.out)
    m = train_images(load_images(Path(args.data)), out, cfg, device=args.device)
    print(metrics_table(m))
    print(f"checkpoint: {RunDir(out).checkpoint}\nmetrics:    {RunDir(out).metrics}")
    return 0

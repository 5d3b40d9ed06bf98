"""Conv-net training on images: the same pre-training and ECQ/ECQx QAT as MLP_GSC
(``ecqx.train.fit_float`` / ``qat_loop``), with 32x32 RGB images instead of MFCCs.

BatchNorm trains in float beside the quantized conv weights and is not folded (the integer
export folds it, ``ecqx.integer.conv_build``). Training augmentation: a random 32x32 crop of
the image padded by 4 pixels (reflection), drawn per (seed, epoch)."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ecqx.checkpoint import Checkpoint
from ecqx.config import IMAGE_ARCHS, ConfigError, TrainConfig
from ecqx.data.images import ImageData, normalize_images
from ecqx.files import write_json
from ecqx.model import vision
from ecqx.run import RunDir
from ecqx.train import (
    accuracy,
    cached_float_model,
    fit_float,
    qat_loop,
    relevance_bits,
    run_metrics,
    saved_quantizer,
    seed_everything,
    torch_device,
)

PAD = 4
METRIC_SPLITS = {"train": "training", "test": "testing"}
MIXED_SAMPLES = 512  # training images whose relevance sets per-layer bit widths


def to_tensor(images: np.ndarray, mean: np.ndarray, std: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> normalized float32 [N, 3, H, W] (``normalize_images``)."""
    return torch.from_numpy(np.ascontiguousarray(normalize_images(images, mean, std)))


def random_crops(x: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    """Each image shifted by up to ``PAD`` pixels (reflection padding), independently."""
    n, _, h, w = x.shape
    padded = F.pad(x, (PAD, PAD, PAD, PAD), mode="reflect")
    dy, dx = rng.integers(0, 2 * PAD + 1, n), rng.integers(0, 2 * PAD + 1, n)
    rows = torch.from_numpy(dy)[:, None] + torch.arange(h)[None]  # [N, H]
    cols = torch.from_numpy(dx)[:, None] + torch.arange(w)[None]  # [N, W]
    idx = torch.arange(n)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx, rows[:, :, None], cols[:, None, :]]
    return out.permute(0, 3, 1, 2).contiguous()


def build_model(cfg: TrainConfig, num_classes: int) -> torch.nn.Sequential:
    return vision.build(cfg.arch, num_classes, cfg.width)


def train_images(
    data: ImageData,
    out: Path,
    cfg: TrainConfig,
    progress: bool = True,
    fp_path: Path | None = None,
    device: str = "cpu",
) -> dict:
    """Pre-train (or reuse the cache) and quantize a conv net; write checkpoint and metrics
    to ``out`` (the same files as ``ecqx.train.train``)."""
    cfg.validate()
    if cfg.arch not in IMAGE_ARCHS:
        raise ConfigError(f"arch {cfg.arch!r} is not a conv net ({', '.join(IMAGE_ARCHS)})")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dev = torch_device(device)
    mean, std = data.channel_stats()
    x = {s: to_tensor(data.images[s], mean, std) for s in data.images}
    y = {s: torch.from_numpy(data.labels[s]) for s in data.labels}
    n_cls = len(data.classes)

    def inputs(epoch: int) -> torch.Tensor:
        return random_crops(x["train"], np.random.default_rng([cfg.seed, epoch])).to(dev)

    def fit() -> tuple[torch.nn.Module, list[float]]:
        seed_everything(cfg.seed)
        model = build_model(cfg, n_cls).to(dev)
        return model, fit_float(model, cfg, inputs, y["train"].to(dev), progress)

    key = {
        "data": data.key,
        "arch": cfg.arch,
        "width": cfg.width,
        "seed": cfg.seed,
        "fp_epochs": cfg.fp_epochs,
        "lr": cfg.fp_lr,
        "wd": cfg.weight_decay,
        "batch": cfg.batch,
    }
    fp_path = Path(fp_path) if fp_path is not None else RunDir(out).fp_cache
    model, fp_times = cached_float_model(fp_path, key, lambda: build_model(cfg, n_cls), fit, dev)
    # split names as in MLP_GSC's metrics (metrics_table, the sweep read "testing")
    evals = {METRIC_SPLITS[s]: (x[s].to(dev), y[s].to(dev)) for s in x}
    fp_acc = {s: accuracy(model, *xy) for s, xy in evals.items()}
    bits: int | list[int] = cfg.bits
    if cfg.bit_budget:
        bits = relevance_bits(model, cfg, *(t[:MIXED_SAMPLES] for t in evals["training"]))

    def qat_inputs(epoch: int) -> torch.Tensor:
        return inputs(cfg.fp_epochs + epoch)

    q, qat_times, trajectory = qat_loop(model, cfg, bits, qat_inputs, y["train"].to(dev), progress)
    q_acc = {s: accuracy(model, *xy) for s, xy in evals.items()}
    metrics = run_metrics(cfg, q, fp_acc, q_acc, qat_times, trajectory, dev, fp_times)
    metrics["data"] = {
        "root": str(data.root),
        "layout": data.layout,
        "key": data.key,
        "sizes": {METRIC_SPLITS[s]: len(v) for s, v in data.labels.items()},
    }
    Checkpoint(
        architecture={
            "name": cfg.arch,
            "width": cfg.width,
            "num_classes": n_cls,
            "in_shape": [3, 32, 32],
        },
        labels=list(data.classes),
        mfcc={},
        input_mean=mean,
        input_std=std,
        config=asdict(cfg),
        state=model.state_dict(),
        quantizer=saved_quantizer(q),
        metrics=metrics,
    ).save(RunDir(out).checkpoint)
    write_json(RunDir(out).metrics, metrics)
    return metrics

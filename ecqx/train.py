"""MLP_GSC training: full-precision pre-training, then ECQ / ECQx quantization-aware training.

Writes into ``out`` (names owned by ``ecqx.run.RunDir``): the cached pre-trained float model
(reused by later runs with the same data and seed), the quantized checkpoint
(``ecqx.checkpoint.Checkpoint``) and ``metrics.json``.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ecqx import checkpoint
from ecqx.checkpoint import Checkpoint
from ecqx.config import DEVICES, ConfigError, TrainConfig, with_legacy
from ecqx.data.gsc import LABELS, GSCData
from ecqx.data.specaugment import spec_mask
from ecqx.files import write_json
from ecqx.model import mlp_gsc
from ecqx.quantizer import Quantizer
from ecqx.quantizer.mixed import allocate_bits
from ecqx.quantizer.qat import quantizable_layers
from ecqx.quantizer.relevance import ForwardTrace, criterion_for
from ecqx.report import percent
from ecqx.run import RunDir

log = logging.getLogger(__name__)


CPU = torch.device("cpu")


def torch_device(name: str) -> torch.device:
    """``auto`` (CUDA when torch sees a GPU, else the CPU), ``cpu`` or ``cuda``; asking for
    CUDA without a usable GPU is an error that says what to use instead."""
    if name not in DEVICES:
        raise ConfigError(f"device (--device) must be {' or '.join(DEVICES)}, got {name!r}")
    cuda = torch.cuda.is_available()
    if name == "cuda" and not cuda:
        raise ConfigError(
            "--device cuda: torch sees no usable GPU (no CUDA device, or no driver); "
            "use --device auto or --device cpu"
        )
    return torch.device("cuda" if name == "cuda" or (name == "auto" and cuda) else "cpu")


def finished(out: Path, cfg: TrainConfig) -> bool:
    """Whether ``out`` holds a completed run (checkpoint + metrics) of exactly ``cfg``."""
    run = RunDir(out)
    m = run.metrics
    if not (m.is_file() and run.checkpoint.is_file()):
        return False
    try:
        saved = json.loads(m.read_text()).get("config")
        return isinstance(saved, dict) and with_legacy(saved) == asdict(cfg)
    except json.JSONDecodeError:
        return False


def lam_ramp(done_epochs: float, warmup: float) -> float:
    """The share of lambda in force after ``done_epochs`` of QAT: linear 0 -> 1 over
    ``warmup`` epochs, 1 without warm-up."""
    return min(1.0, done_epochs / warmup) if warmup > 0 else 1.0


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cached_pretraining(path: Path, key: dict) -> dict | None:
    """The pre-trained model cached in ``path`` if it was made with ``key``; a corrupt or
    unsafe cache is reported and trained anew (it is only a cache)."""
    if not path.is_file():
        return None
    try:
        saved = checkpoint.load_tree(path, "pre-trained model cache")
    except checkpoint.CheckpointError as e:
        log.warning("%s; pre-training again", e)
        return None
    return saved if saved.get("key") == key else None


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def batches(n: int, size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(n)
    return [order[i : i + size] for i in range(0, n, size)]


def pretrain(
    data: GSCData,
    cfg: TrainConfig,
    norm: tuple[np.ndarray, np.ndarray],
    progress: bool,
    device: torch.device = CPU,
) -> tuple[nn.Module, list[float]]:
    """SGD momentum 0.9, cosine learning-rate schedule, augmented features every epoch."""
    seed_everything(cfg.seed)
    # created on the CPU, then moved: the same initial weights on every device
    model = mlp_gsc(in_features=data.params.size, num_classes=len(LABELS)).to(device)
    y = torch.from_numpy(data.labels("training")).to(device)
    times = fit_float(
        model, cfg, lambda epoch: epoch_features(data, cfg, norm, epoch).to(device), y, progress
    )
    return model, times


def fit_float(
    model: nn.Module,
    cfg: TrainConfig,
    epoch_inputs: Callable[[int], torch.Tensor],
    y: torch.Tensor,
    progress: bool,
) -> list[float]:
    """Full-precision training of ``model`` for ``cfg.fp_epochs`` on ``epoch_inputs(epoch)``
    (each epoch's augmented inputs, aligned with ``y``): SGD momentum 0.9, cosine learning
    rate. Returns the seconds per epoch."""
    opt = torch.optim.SGD(
        model.parameters(), lr=cfg.fp_lr, momentum=0.9, weight_decay=cfg.weight_decay
    )
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=cfg.fp_epochs)
    rng = np.random.default_rng(cfg.seed)
    times = []
    bar = tqdm(range(cfg.fp_epochs), desc="FP pre-training", disable=not progress)
    for epoch in bar:
        t0 = time.perf_counter()
        x = epoch_inputs(epoch)
        model.train()
        loss_sum, correct = 0.0, 0
        for idx in batches(len(y), cfg.batch, rng):
            out = model(x[idx])
            loss = F.cross_entropy(out, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(idx)
            correct += int((out.argmax(1) == y[idx]).sum())
        sched.step()
        times.append(time.perf_counter() - t0)
        bar.set_postfix(loss=f"{loss_sum / len(y):.3f}", acc=f"{correct / len(y):.3f}")
    return times


def normalize(feats: np.ndarray, norm: tuple[np.ndarray, np.ndarray]) -> torch.Tensor:
    return torch.from_numpy((feats - norm[0]) / norm[1]).float()


def augmented_features(data: GSCData, cfg: TrainConfig, epoch: int) -> np.ndarray:
    """The raw training MFCC of one epoch: one of ``cfg.aug_epochs`` cycled augmented copies
    (kept on disk: the MFCC of the augmented audio cost more than an epoch of training), or a
    fresh one for every epoch with 0."""
    k = epoch % cfg.aug_epochs if cfg.aug_epochs else epoch
    return data.features("training", epoch=k, seed=cfg.seed, keep=cfg.aug_epochs > 0)


def epoch_features(data: GSCData, cfg: TrainConfig, norm: tuple, epoch: int) -> torch.Tensor:
    """The training features of one epoch (``augmented_features``), standardized, and with
    ``cfg.spec_masks`` SpecAugment masks drawn for (seed, epoch)."""
    x = (augmented_features(data, cfg, epoch) - norm[0]) / norm[1]
    if cfg.spec_masks:
        rng = np.random.default_rng([cfg.seed, epoch, 7])
        x = spec_mask(x, cfg.spec_masks, rng, data.params.frames, data.params.n_mfcc)
    return torch.from_numpy(x).float()


MIXED_SAMPLES = 1024  # training examples whose relevance sets the per-layer bit widths


def mixed_bits(
    model: nn.Module, data: GSCData, cfg: TrainConfig, norm: tuple, device: torch.device
) -> list[int]:
    """Per-layer bit widths for ``cfg.bit_budget`` from the first ``MIXED_SAMPLES`` training
    examples (``relevance_bits``)."""
    x = normalize(data.features("training")[:MIXED_SAMPLES], norm).to(device)
    y = torch.from_numpy(data.labels("training")[:MIXED_SAMPLES]).to(device)
    return relevance_bits(model, cfg, x, y)


def relevance_bits(model: nn.Module, cfg: TrainConfig, x: torch.Tensor, y: torch.Tensor) -> list:
    """Per-layer bit widths for ``cfg.bit_budget`` (``ecqx.quantizer.mixed``) from the
    float model's relevance (``cfg.criterion``, LRP by default, also for ECQ) summed over
    the examples ``x``."""
    layers = [m for _, m in quantizable_layers(model)]
    with ForwardTrace(layers) as trace, torch.no_grad():
        model(x)
    relevance = criterion_for("ecqx", cfg.criterion)(model, layers, x, y, trace)
    scores = [float(r.abs().sum()) for r in relevance]
    return allocate_bits(scores, [m.weight.numel() for m in layers], cfg.bit_budget)


DISTILL_T = 4.0  # softmax temperature of the distillation term (Hinton et al.'s usual 2-5)


def distillation_loss(
    out: torch.Tensor, target: torch.Tensor, teacher: torch.Tensor, weight: float
) -> torch.Tensor:
    """(1 - weight) x cross-entropy + weight x T^2 x KL(teacher || student) at temperature T:
    the quantized student also matches the float model's soft outputs."""
    t = DISTILL_T
    kl = F.kl_div(
        F.log_softmax(out / t, dim=1), F.log_softmax(teacher / t, dim=1),
        reduction="batchmean", log_target=True,
    )  # fmt: skip
    return (1 - weight) * F.cross_entropy(out, target) + weight * t * t * kl


def qat(
    model: nn.Module,
    data: GSCData,
    cfg: TrainConfig,
    norm: tuple,
    progress: bool,
    device: torch.device = CPU,
) -> tuple[Quantizer, list[float], list[list[float]]]:
    """ECQ/ECQx QAT of MLP_GSC on the augmented features (``qat_loop``)."""
    bits = mixed_bits(model, data, cfg, norm, device) if cfg.bit_budget else cfg.bits
    y = torch.from_numpy(data.labels("training")).to(device)

    def inputs(epoch: int) -> torch.Tensor:
        return epoch_features(data, cfg, norm, cfg.fp_epochs + epoch).to(device)

    return qat_loop(model, cfg, bits, inputs, y, progress)


def qat_loop(
    model: nn.Module,
    cfg: TrainConfig,
    bits: int | list[int],
    epoch_inputs: Callable[[int], torch.Tensor],
    y: torch.Tensor,
    progress: bool,
    setup: Callable[[Quantizer], None] | None = None,
) -> tuple[Quantizer, list[float], list[list[float]]]:
    """ECQ/ECQx QAT of every Linear/Conv layer of ``model`` on ``epoch_inputs(epoch)``;
    returns the quantizer, seconds per epoch and each epoch's per-layer sparsity (the
    trajectories that show which layer a lambda empties first). ``setup`` may change the
    quantizer before the first step (fine-tuning loads a trained state and pruning masks)."""
    criterion = criterion_for(cfg.method, cfg.criterion)
    q = Quantizer(model, bits=bits, lam=cfg.lam, p=cfg.p, criterion=criterion,
                  lr=cfg.qat_lr, lam_scale=lam_ramp(0.0, cfg.lam_warmup),
                  lam_mode=cfg.lam_mode, relevance_every=cfg.relevance_every,
                  relevance_batch=cfg.relevance_batch,
                  grad_scaling=cfg.grad_scaling, clip_shadows=cfg.clip_shadows,
                  p_bounds=cfg.p_bounds,
                  beta_max=cfg.beta_max)  # fmt: skip
    if setup is not None:
        setup(q)
    rng = np.random.default_rng(cfg.seed + 1)
    times, trajectory = [], []
    teacher = copy.deepcopy(model).eval() if cfg.distill > 0 else None
    steps = cfg.epochs * math.ceil(len(y) / cfg.batch)
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        x = epoch_inputs(epoch)
        parts = batches(len(y), cfg.batch, rng)
        bar = tqdm(
            parts,
            desc=f"{cfg.method.upper()} epoch {epoch + 1}/{cfg.epochs}",
            disable=not progress,
            leave=False,
        )
        loss_sum, correct, seen = 0.0, 0, 0
        for k, idx in enumerate(bar):
            # Full lambda on the first step zeroes most weights at once: the assignment feeds
            # on its own cluster probabilities and the network never recovers (measured:
            # lambda 48 -> chance accuracy after one epoch). Ramping it lets sparsity grow
            # while the remaining weights adapt.
            q.lam_scale = lam_ramp(epoch + k / len(parts), cfg.lam_warmup)
            if cfg.qat_schedule == "cosine":
                done = (epoch * len(parts) + k) / max(1, steps)
                for group in q.optimizer.param_groups:
                    group["lr"] = cfg.qat_lr * 0.5 * (1 + math.cos(math.pi * done))
            loss_fn = F.cross_entropy
            if teacher is not None:
                with torch.no_grad():
                    soft = teacher(x[idx])
                loss_fn = partial(distillation_loss, teacher=soft, weight=cfg.distill)
            st = q.step(x[idx], y[idx], loss_fn)
            loss_sum += st.loss * st.count
            correct += st.correct
            seen += st.count
            bar.set_postfix(
                loss=f"{loss_sum / seen:.3f}",
                acc=f"{correct / seen:.3f}",
                sparsity=f"{st.sparsity:.3f}",
            )
        if epoch == cfg.epochs - 1:
            # with relevance every k-th step the last step may not have searched beta: end on
            # a search so the final model keeps the bound on p (a no-op when k = 1)
            q.assign()
        times.append(time.perf_counter() - t0)
        trajectory.append([round(s.sparsity, 5) for s in q.layers])
        if progress:
            tqdm.write(
                f"{cfg.method.upper()} epoch {epoch + 1}/{cfg.epochs}: loss {loss_sum / seen:.3f} "
                f"acc {percent(correct / seen)} sparsity {percent(q.sparsity())} "
                f"({times[-1]:.1f} s)"
            )
    return q, times, trajectory


def input_norm(data: GSCData) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature mean and standard deviation of the (unaugmented) training split."""
    feats = data.features("training")
    return feats.mean(0), feats.std(0) + 1e-6


def pretraining_key(data: GSCData, cfg: TrainConfig) -> dict:
    """What a cached pre-trained model must have been made with to be reused."""
    return {
        "data": data.key,
        "seed": cfg.seed,
        "fp_epochs": cfg.fp_epochs,
        "aug_epochs": cfg.aug_epochs,
        "lr": cfg.fp_lr,
        "wd": cfg.weight_decay,
        "batch": cfg.batch,
        "spec_masks": cfg.spec_masks,
        "mfcc": data.params.to_dict(),
    }


def pretrained(
    data: GSCData,
    cfg: TrainConfig,
    fp_path: Path,
    norm: tuple,
    progress: bool,
    device: torch.device = CPU,
) -> tuple[nn.Module, list[float]]:
    """The full-precision model of (data, cfg): from the cache ``fp_path`` when it was made
    with the same settings, else pre-trained now and cached there. Returns the model and the
    pre-training seconds per epoch."""
    return cached_float_model(
        fp_path,
        pretraining_key(data, cfg),
        lambda: mlp_gsc(in_features=data.params.size, num_classes=len(LABELS)),
        lambda: pretrain(data, cfg, norm, progress, device),
        device,
    )


def cached_float_model(
    fp_path: Path,
    key: dict,
    build: Callable[[], nn.Module],
    fit: Callable[[], tuple[nn.Module, list[float]]],
    device: torch.device,
) -> tuple[nn.Module, list[float]]:
    """``build()`` loaded from the cache ``fp_path`` when that was made with ``key``, else
    ``fit()`` now and cached there; with the pre-training seconds per epoch."""
    saved = cached_pretraining(fp_path, key)
    if saved is not None:
        model = build()
        model.load_state_dict({k: torch.from_numpy(v) for k, v in saved["state"].items()})
        return model.to(device), saved["epoch_seconds"]
    model, times = fit()
    checkpoint.save_tree({"key": key, "state": model.state_dict(), "epoch_seconds": times}, fp_path)
    return model, times


def train(
    data: GSCData,
    out: Path,
    cfg: TrainConfig,
    progress: bool = True,
    fp_path: Path | None = None,
    device: str = "cpu",
) -> dict:
    """Pre-train (or reuse ``fp_path``, default ``out/fp.npz``), quantize, evaluate; write
    checkpoint and metrics. The pre-trained model is reused only if data and pre-training
    settings match, so several runs (a sweep) can share one."""
    cfg.validate()
    if cfg.arch != "mlp_gsc":
        raise ConfigError(f"arch {cfg.arch!r} trains on images (ecqx.train_images), not on MFCCs")
    if (data.params.arithmetic, data.params.cmn) != (cfg.features, cfg.cmn):
        raise ConfigError(
            f"the data's MFCC are {data.params.arithmetic} with cmn {data.params.cmn}, the run "
            f"asks for --features {cfg.features} with cmn {cfg.cmn}: load the data with "
            "ecqx.data.features.params_for(cfg)"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    train_feats = data.features("training")
    norm = input_norm(data)
    fp_path = Path(fp_path) if fp_path is not None else RunDir(out).fp_cache
    dev = torch_device(device)
    model, fp_times = pretrained(data, cfg, fp_path, norm, progress, dev)
    evals = {
        s: (
            normalize(train_feats if s == "training" else data.features(s), norm).to(dev),
            torch.from_numpy(data.labels(s)).to(dev),
        )
        for s in ("training", "validation", "testing")
    }
    fp_acc = {s: accuracy(model, *xy) for s, xy in evals.items()}
    q, qat_times, trajectory = qat(model, data, cfg, norm, progress, dev)
    q_acc = {s: accuracy(model, *xy) for s, xy in evals.items()}
    metrics = run_metrics(cfg, q, fp_acc, q_acc, qat_times, trajectory, dev, fp_times)
    metrics["data"] = {
        "root": str(data.root),
        "families": list(data.families) if data.families is not None else None,
        "key": data.key,
        "sizes": {s: len(xy[1]) for s, xy in evals.items()},
    }
    Checkpoint(
        architecture={
            "name": "mlp_gsc",
            "in_features": data.params.size,
            "num_classes": len(LABELS),
        },
        labels=list(LABELS),
        mfcc=data.params.to_dict(),
        input_mean=norm[0],
        input_std=norm[1],
        config=asdict(cfg),
        state=model.state_dict(),
        quantizer=saved_quantizer(q),
        metrics=metrics,
    ).save(RunDir(out).checkpoint)
    write_json(RunDir(out).metrics, metrics)
    return metrics


def run_metrics(
    cfg: TrainConfig,
    q: Quantizer,
    top1_float: dict,
    top1_quantized: dict,
    qat_times: list[float],
    trajectory: list[list[float]],
    dev: torch.device,
    fp_times: list[float] | None = None,
) -> dict:
    """A quantized run's ``metrics.json`` (without ``data``, which the caller describes)."""
    layers = q.layer_report()
    n_weights = sum(math.prod(r["shape"]) for r in layers)
    m = {
        "config": asdict(cfg),
        "top1_float": top1_float,
        "top1_quantized": top1_quantized,
        "sparsity": q.sparsity(),
        "entropy_bits_per_weight": sum(r["entropy"] * math.prod(r["shape"]) for r in layers)
        / n_weights,
        "weights": n_weights,
        "layers": layers,
        "fp_epoch_seconds": fp_times,
        "qat_epoch_seconds": qat_times,
        "qat_layer_sparsity": trajectory,  # per epoch, per layer (forward order)
        "device": str(dev),
    }
    if fp_times is None:
        m.pop("fp_epoch_seconds")
    return m


def saved_quantizer(q: Quantizer) -> dict:
    """The quantizer's state as a checkpoint keeps it: QAT is never resumed from a checkpoint
    (fine-tuning starts a fresh Adam), so the optimizer stays out and the format plain."""
    state = q.state_dict()
    state.pop("optimizer")
    return state


def metrics_table(m: dict) -> str:
    """A run's per-layer table and test top-1, as ``ecqx train`` prints it."""
    lines = [
        f"{'layer':10s} {'shape':>12s} {'bits':>4s} {'sparsity':>8s} {'entropy':>7s} {'beta':>5s}"
    ]
    for r in m["layers"]:
        shape = "x".join(map(str, r["shape"]))
        lines.append(
            f"{r['name']:10s} {shape:>12s} {r['bits']:4d} {percent(r['sparsity']):>8s} "
            f"{r['entropy']:7.3f} {r['beta']:5.2f}"
        )
    fp, q = m["top1_float"]["testing"], m["top1_quantized"]["testing"]
    lines.append(
        f"test top-1: float {percent(fp)}, quantized {percent(q)}; sparsity "
        f"{percent(m['sparsity'])}; "
        f"entropy {m['entropy_bits_per_weight']:.3f} bit/weight"
    )
    return "\n".join(lines)

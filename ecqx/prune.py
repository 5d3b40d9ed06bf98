"""``ecqx prune``: explanation-driven pruning of a trained (quantized) run, then fine-tuning.

The run's weights are scored (``--criterion``: LRP, DeepLIFT or gradient x weight relevance
summed over training samples, or ``magnitude`` as the baseline), the lowest-scoring share of
each layer's weights (``--structure weights``) or of its units / conv filters (``units``) is
removed for good (``ecqx.quantizer.prune``), and the run's own QAT (method, bits, grids,
lambda at full strength; a fresh Adam, cosine from the run's QAT learning rate) fine-tunes
the rest for ``--epochs``. The result is a run folder like `ecqx train`'s, so `ecqx export`
takes it.

The cluster probabilities of the entropy term count the live weights only: with the removed
ones counted as zeros, zero became so cheap that the assignment emptied the rest too
(measured on MLP_GSC, 60% removed by LRP, the run's lambda 16: 90% zeros and 37.1% top-1 after
two epochs). Nearest-centroid fine-tuning (lambda 0) is no way out either: it gives back a
code to every weight the entropy term had zeroed, which changes the network as much as the
pruning does (35.4% top-1 right after removing 60%).

A removed unit must output exactly zero: its row of codes is masked, and a forward hook
zeroes its output after the layer (after the BatchNorm that follows a conv), so its bias and
BN shift cannot bring it back during fine-tuning; they are set to zero when saved, which makes
the unit dead in every export without hooks. Structured pruning needs a plain chain (MLP_GSC,
VGG): in a ResNet block a residual addition would revive the unit."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ecqx.checkpoint import Checkpoint
from ecqx.config import (
    IMAGE_ARCHS,
    PRUNE_CRITERIA,
    PRUNE_STRUCTURES,
    ConfigError,
    TrainConfig,
    with_legacy,
)
from ecqx.files import write_json
from ecqx.quantizer.prune import check_ratio, expand_units, unit_masks, weight_masks
from ecqx.quantizer.qat import quantizable_layers
from ecqx.quantizer.relevance import ForwardTrace, criterion_for
from ecqx.run import RunDir
from ecqx.train import accuracy, qat_loop, run_metrics, saved_quantizer, torch_device

SCORE_SAMPLES = 1024  # training examples whose relevance scores the weights
SCORE_BATCH = 256
FINE_TUNE_EPOCH_OFFSET = 1000  # augmentation draws apart from those of training


@dataclasses.dataclass
class Task:
    model: nn.Module
    epoch_inputs: Callable[[int], torch.Tensor]  # one epoch's augmented training inputs
    y: torch.Tensor
    evals: dict  # split -> (x, y)


def load_task(ck: Checkpoint, cfg: TrainConfig, dev: torch.device) -> Task:
    """The run's model (trained weights) and data, as training saw them."""
    arch = ck.architecture
    if arch["name"] in IMAGE_ARCHS:
        from ecqx.data.images import load_images
        from ecqx.model import vision
        from ecqx.train_images import METRIC_SPLITS, random_crops, to_tensor

        data = load_images(ck.data_root)
        model = vision.from_checkpoint(arch, ck.state)
        x = {s: to_tensor(data.images[s], ck.input_mean, ck.input_std) for s in data.images}
        y = {s: torch.from_numpy(data.labels[s]) for s in data.labels}

        def image_inputs(epoch: int) -> torch.Tensor:
            rng = np.random.default_rng([cfg.seed, FINE_TUNE_EPOCH_OFFSET + epoch])
            return random_crops(x["train"], rng).to(dev)

        evals = {METRIC_SPLITS[s]: (x[s].to(dev), y[s].to(dev)) for s in x}
        inputs, y_train = image_inputs, y["train"].to(dev)
    else:
        from ecqx.integer.from_run import load_data
        from ecqx.model import mlp_gsc
        from ecqx.train import epoch_features, normalize

        data = load_data(ck, None)
        norm = (ck.input_mean.astype(np.float64), ck.input_std.astype(np.float64))
        model = mlp_gsc(in_features=int(arch["in_features"]), num_classes=int(arch["num_classes"]))
        model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in ck.state.items()})

        def gsc_inputs(epoch: int) -> torch.Tensor:
            return epoch_features(data, cfg, norm, FINE_TUNE_EPOCH_OFFSET + epoch).to(dev)

        evals = {s: (normalize(data.features(s), norm).to(dev),
                     torch.from_numpy(data.labels(s)).to(dev))
                 for s in ("training", "validation", "testing")}  # fmt: skip
        inputs, y_train = gsc_inputs, torch.from_numpy(data.labels("training")).to(dev)
    return Task(model.to(dev), inputs, y_train, evals)


def quantizer_state(ck: Checkpoint, dev: torch.device) -> dict:
    """The checkpoint's quantizer state with tensors (what ``Quantizer.load_state_dict`` reads)."""

    def t(v: object) -> object:
        return None if v is None else torch.from_numpy(np.asarray(v)).to(dev)

    layers = {
        name: {**d, "shadow": t(d["shadow"]).float(), "relevance": t(d.get("relevance"))}
        for name, d in ck.quantizer["layers"].items()
    }
    return {**ck.quantizer, "layers": layers}


def weight_scores(
    task: Task, criterion: str, qstate: dict, layers: list[tuple[str, nn.Module]]
) -> list[torch.Tensor]:
    """|score| per weight of every quantized layer."""
    if criterion == "magnitude":
        return [qstate["layers"][name]["shadow"].abs() for name, _ in layers]
    crit = criterion_for("ecqx", criterion)
    mods = [m for _, m in layers]
    x_all, y_all = task.evals["training"]  # the un-augmented training examples
    total = [torch.zeros_like(m.weight) for m in mods]
    n = min(SCORE_SAMPLES, len(y_all))
    for i in range(0, n, SCORE_BATCH):
        x, y = x_all[i : min(n, i + SCORE_BATCH)], y_all[i : min(n, i + SCORE_BATCH)]
        with ForwardTrace(mods) as trace, torch.no_grad():
            task.model.eval()(x)
        for acc, r in zip(total, crit(task.model, mods, x, y, trace), strict=True):
            acc += r.detach().abs()
    return total


def unit_owner(model: nn.Module, layer: nn.Module) -> nn.Module:
    """The module after which a unit of ``layer`` is final: the BatchNorm right after it in a
    plain chain, else the layer itself; refuses anything but a plain chain."""
    chain = list(model) if isinstance(model, nn.Sequential) else []
    if layer not in chain:
        raise ConfigError(
            "--structure units needs a plain Linear/Conv chain (MLP_GSC, VGG): in a ResNet a "
            "residual addition revives a removed filter; use --structure weights"
        )
    i = chain.index(layer)
    nxt = chain[i + 1] if i + 1 < len(chain) else None
    return nxt if isinstance(nxt, nn.BatchNorm1d | nn.BatchNorm2d) else layer


def _zero_outputs(keep: torch.Tensor):  # noqa: ANN202 - a torch hook closure
    def hook(_m: nn.Module, _inp: tuple, out: torch.Tensor) -> torch.Tensor:
        return out * keep.view((1, -1) + (1,) * (out.dim() - 2)).to(out.dtype)

    return hook


def prune(
    model_dir: Path,
    out: Path,
    ratio: float,
    structure: str = "weights",
    criterion: str = "lrp",
    epochs: int = 2,
    device: str = "cpu",
    progress: bool = True,
) -> dict:
    check_ratio(ratio)
    if structure not in PRUNE_STRUCTURES:
        raise ConfigError(f"--structure must be one of {PRUNE_STRUCTURES}, got {structure!r}")
    if criterion not in PRUNE_CRITERIA:
        raise ConfigError(f"--criterion must be one of {PRUNE_CRITERIA}, got {criterion!r}")
    ck = Checkpoint.load(model_dir)
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    saved = {k: v for k, v in with_legacy(ck.config).items() if k in names}
    source = TrainConfig(**saved)
    cfg = dataclasses.replace(source, epochs=epochs, lam_warmup=0.0)
    cfg.validate()
    dev = torch_device(device)
    task = load_task(ck, cfg, dev)
    qstate = quantizer_state(ck, dev)
    layers = quantizable_layers(task.model)
    before = accuracy(task.model, *task.evals["testing"])
    scores = weight_scores(task, criterion, qstate, layers)
    magnitude = weight_scores(task, "magnitude", qstate, layers)  # breaks relevance ties
    hooks = []
    if structure == "units":
        units = unit_masks(scores, ratio, tiebreak=magnitude)
        masks = [expand_units(u, m.weight.shape) for u, (_, m) in zip(units, layers, strict=True)]
        for u, (_, m) in zip(units, layers, strict=True):
            if not bool(u.all()):
                hooks.append(unit_owner(task.model, m).register_forward_hook(_zero_outputs(u)))
    else:
        masks = weight_masks(scores, ratio, tiebreak=magnitude)
        units = None

    pruned: dict = {}

    def setup(q) -> None:  # noqa: ANN001 - the Quantizer qat_loop made
        q.load_state_dict(qstate)
        q.set_masks(masks)
        pruned["top1"] = accuracy(task.model, *task.evals["testing"])
        pruned["sparsity"] = q.sparsity()

    bits = [int(qstate["layers"][name]["grid"]["bits"]) for name, _ in layers]
    try:
        q, times, trajectory = qat_loop(
            task.model, cfg, bits, task.epoch_inputs, task.y, progress, setup
        )
        after = {s: accuracy(task.model, *xy) for s, xy in task.evals.items()}
    finally:
        for h in hooks:
            h.remove()
    if units is not None:
        _bake_dead_units(task.model, layers, units)
        after_baked = accuracy(task.model, *task.evals["testing"])
        if not math.isclose(after_baked, after["testing"], abs_tol=1e-9):
            raise RuntimeError("removing the hooks changed the pruned model's answers")
    removed = sum(int((~m).sum()) for m in masks) / sum(m.numel() for m in masks)
    metrics = run_metrics(cfg, q, ck.metrics["top1_float"], after, times, trajectory, dev)
    metrics |= {
        "data": ck.metrics["data"],
        "prune": {
            "source": str(Path(model_dir)),
            "ratio": ratio,
            "structure": structure,
            "criterion": criterion,
            "removed_share": removed,
            "removed_units": None if units is None else [int((~u).sum()) for u in units],
            "top1_before": before,
            "top1_pruned": pruned["top1"],
            "sparsity_pruned": pruned["sparsity"],
            "source_sparsity": ck.metrics["sparsity"],
            "source_config": asdict(source),
        },
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dataclasses.replace(
        ck,
        config=asdict(cfg),
        state=task.model.state_dict(),
        quantizer=saved_quantizer(q),
        metrics=metrics,
    ).save(RunDir(out).checkpoint)
    write_json(RunDir(out).metrics, metrics)
    return metrics


def _bake_dead_units(
    model: nn.Module, layers: list[tuple[str, nn.Module]], units: list[torch.Tensor]
) -> None:
    """Zero the bias (and the following BatchNorm's scale and shift) of every removed unit, so
    that it outputs exactly 0 without the fine-tuning hooks."""
    with torch.no_grad():
        for (_, m), keep in zip(layers, units, strict=True):
            dead = ~keep
            if m.bias is not None:
                m.bias[dead] = 0.0
            owner = unit_owner(model, m) if not bool(keep.all()) else m
            if owner is not m:
                owner.weight[dead] = 0.0
                owner.bias[dead] = 0.0

"""A trained checkpoint -> its quantized layers, checked for what the integer model needs,
with errors that say what to do."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecqx.bits import RANGE_TEXT, supported
from ecqx.checkpoint import Checkpoint
from ecqx.integer.model import IntegerModelError


@dataclass
class QuantizedLayer:
    """One quantized layer as trained: integer codes on a uniform grid plus a float bias."""

    name: str
    kind: str  # "linear"
    codes: np.ndarray  # int8 [out, in]
    step: float
    bits: int
    bias: np.ndarray  # float32 [out]


@dataclass
class TrainedModel:
    layers: list[QuantizedLayer]
    relu_after: list[bool]
    labels: list[str]
    input_mean: np.ndarray
    input_std: np.ndarray
    meta: dict


def trained_model(ck: Checkpoint, source: str = "checkpoint") -> TrainedModel:
    """The quantized layers of a checkpoint, in forward order, checked for exportability."""
    q = ck.quantizer
    if not q or not q.get("layers"):
        raise IntegerModelError(
            f"{source}: the model is not quantized (no quantizer state); train it with "
            "`ecqx train` (ECQ/ECQx) before exporting"
        )
    state = ck.state
    arch = ck.architecture.get("name")
    if arch != "mlp_gsc":
        raise IntegerModelError(
            f"{source}: architecture {arch!r} is not supported by the exporter; supported: "
            "stacks of Linear layers with ReLU (mlp_gsc)"
        )
    names = list(q["layers"])
    layers = []
    for name in names:
        d = q["layers"][name]
        w = state.get(f"{name}.weight")
        if w is None or w.ndim != 2:
            kind = "missing" if w is None else f"{w.ndim}-D weight"
            raise IntegerModelError(
                f"{source}: layer {name} ({kind}) is not a fully-connected layer; only Linear "
                "layers can be exported to the integer model so far"
            )
        bits = int(d["grid"]["bits"])
        if not supported(bits):
            raise IntegerModelError(
                f"{source}: layer {name} has {bits}-bit weights; supported {RANGE_TEXT}"
            )
        codes = np.asarray(d["codes"]).astype(np.int8)
        step = float(d["grid"]["step"])
        if not np.array_equal(codes.astype(np.float32) * np.float32(step), w):
            raise IntegerModelError(
                f"{source}: layer {name}'s weights are not the quantizer's codes * step; the "
                "checkpoint is inconsistent, re-train it"
            )
        bias = state.get(f"{name}.bias")
        layers.append(
            QuantizedLayer(
                name=name,
                kind="linear",
                codes=codes,
                step=step,
                bits=bits,
                bias=np.zeros(w.shape[0], np.float32) if bias is None else np.asarray(bias),
            )
        )
    mean = np.asarray(ck.input_mean, np.float32)
    std = np.asarray(ck.input_std, np.float32)
    if mean.shape != std.shape or mean.shape != (layers[0].codes.shape[1],):
        raise IntegerModelError(
            f"{source}: input normalization has {mean.shape}/{std.shape} values for "
            f"{layers[0].codes.shape[1]} inputs; the checkpoint is inconsistent, re-train it"
        )
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std > 0).all()):
        raise IntegerModelError(
            f"{source}: input normalization is not finite or has a standard deviation <= 0; "
            "the checkpoint is corrupt, re-train it"
        )
    for ly in layers:
        if not np.isfinite(ly.bias).all() or not (np.isfinite(ly.step) and ly.step > 0):
            raise IntegerModelError(
                f"{source}: layer {ly.name} has a non-finite bias or step; the checkpoint is "
                "corrupt (or training diverged): re-train it"
            )
    if len(ck.labels) != layers[-1].codes.shape[0]:
        raise IntegerModelError(
            f"{source}: {len(ck.labels)} labels for {layers[-1].codes.shape[0]} outputs; "
            "re-train it"
        )
    return TrainedModel(
        layers=layers,
        # mlp_gsc: ReLU after every Linear but the last
        relu_after=[True] * (len(layers) - 1) + [False],
        labels=list(ck.labels),
        input_mean=mean,
        input_std=std,
        meta={"mfcc": ck.mfcc, "config": ck.config, "source": source},
    )

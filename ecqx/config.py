"""What a training run is: its configuration (with the ranges every field must lie in) and the
checkpoint's format tag. Torch-free, so the CLI's --help, export and HIL can ask it without
importing the training stack."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ecqx.bits import RANGE_TEXT, supported
from ecqx.checks import is_finite as _finite
from ecqx.checks import is_int as _int
from ecqx.errors import EcqxError

CHECKPOINT_FORMAT = "ecqx-checkpoint"
CHECKPOINT_VERSION = 1
METHODS = ("ecqx", "ecq")  # ecqx: LRP relevance in the assignment; ecq: none
# per-layer lambda: size = lam * N_l / N_max; collapse = lam * lambda_max_l * size factor
LAMBDA_MODES = ("size", "collapse")
# `ecqx sweep`'s lambda grid per mode when none is given: on MLP_GSC's default stand-in each
# spans ECQ from ~30% sparsity to past its knee (sessions 11 and 12)
SWEEP_LAMS = {"size": (4.0, 16.0, 32.0, 64.0, 96.0, 128.0, 192.0, 256.0),
              "collapse": (0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3, 1.7)}  # fmt: skip
# straight-through gradient factor: centroid = |c| * step, 1 at zero (EC2T/ECQ); steps = max(|c|, 1)
GRAD_SCALINGS = ("centroid", "steps")
# ECQx's relevance: LRP (the paper), DeepLIFT through Captum (the companion paper's score),
# or gradient x weight
CRITERIA = ("lrp", "deeplift", "gradxw")
# what ECQx's p bounds: the extra zeros relevance adds (the paper), or the change either way
P_BOUNDS = ("extra", "both")
# the QAT learning rate: constant, or cosine decay from --qat-lr to 0 over the QAT steps
QAT_SCHEDULES = ("constant", "cosine")
# where training runs: auto = CUDA when torch sees a GPU, else the CPU (not part of TrainConfig:
# where a run trained is recorded in its metrics, and it changes no setting)
DEVICES = ("auto", "cpu", "cuda")
# what is trained: the paper's keyword-spotting MLP on MFCCs, or one of the conv nets of the
# papers (CIFAR variants, on 32x32 RGB images; ecqx.model.vision builds them)
ARCHS = ("mlp_gsc", "vgg16", "vgg16bn", "resnet18")
IMAGE_ARCHS = ARCHS[1:]
# what `ecqx prune` removes: single weights, or whole units / conv filters
PRUNE_STRUCTURES = ("weights", "units")
# what ranks the weights for pruning: a relevance criterion, or the magnitude baseline
PRUNE_CRITERIA = (*CRITERIA, "magnitude")
# MFCC arithmetic: the device's fixed-point front end (what the C library computes), or float64
FEATURES = ("fixed", "float")
# cepstral mean normalization of the MFCC by default (the front end's and training's default)
DEFAULT_CMN = True


class ConfigError(EcqxError, ValueError):
    """A training setting is out of range; the message names the field and its allowed range."""


@dataclass
class TrainConfig:
    arch: str = ARCHS[0]
    width: float = 1.0  # conv nets: channel multiplier (1 = the papers' widths)
    bits: int = 4
    bit_budget: float = 0.0  # mixed precision: mean bits per weight over the layers (0 = off)
    # a fraction of each layer's collapse point (lam_mode "collapse"). With p 0.7, beta max 4
    # and 24 QAT epochs ECQx keeps 85.7% zeros at 1.0 pp below float on the default stand-in
    # (3 seeds, session 14; p 0.5, beta max 1, 12 epochs, the default before: 79.1%, 0.8 pp)
    lam: float = 0.2
    p: float = 0.7
    method: str = "ecqx"
    criterion: str = CRITERIA[0]
    epochs: int = 24  # QAT; 12 before session 14 (same top-1, 3.6 pp fewer zeros at p 0.7)
    lam_warmup: float = 5.0  # epochs over which lambda ramps linearly from 0 to its value
    lam_mode: str = "collapse"
    fp_epochs: int = 60
    # distinct augmented copies of the MLP's training set, cycled over the epochs (stored with
    # the data's cache); 0 = a fresh one every epoch
    aug_epochs: int = 30
    batch: int = 64
    fp_lr: float = 0.03
    qat_lr: float = 1e-3
    qat_schedule: str = "cosine"
    distill: float = 0.0  # weight of the float model's soft targets in the QAT loss (0 = off)
    weight_decay: float = 2e-3
    features: str = FEATURES[0]
    cmn: bool = DEFAULT_CMN  # cepstral mean normalization of each clip's (window's) MFCC
    spec_masks: int = 0  # SpecAugment time and coefficient masks per training example
    relevance_every: int = 1  # ECQx: relevance pass and beta search every k-th QAT step
    relevance_batch: int = 0  # ECQx: samples of the batch the relevance pass sees (0 = all)
    grad_scaling: str = "steps"
    # clamp the shadow weights to the grid's outer centroids after every update (BinaryConnect):
    # the straight-through gradient of a weight beyond the edge never changes its code, so it
    # drifts on unchecked (2-bit ECQ: 25% of the input layer beyond the edge after 8 epochs)
    clip_shadows: bool = False
    p_bounds: str = P_BOUNDS[0]
    beta_max: float = 4.0  # ECQx: the largest relevance exponent the beta search may pick
    seed: int = 0

    def validate(self) -> None:
        """Raise a ConfigError naming the first field outside its range."""
        for f in fields(self):
            problem = _check(f.name, getattr(self, f.name))
            if problem:
                option = "--" + f.name.replace("_", "-")
                raise ConfigError(f"{f.name} ({option}) {problem}")

    def warnings(self) -> list[str]:
        """Settings that are valid but probably not what the user meant."""
        if 0 < self.epochs < self.lam_warmup:
            return [
                f"epochs ({self.epochs}) < lam_warmup ({self.lam_warmup:g}): lambda only "
                f"reaches {self.epochs / self.lam_warmup:.0%} of --lam; lower --lam-warmup or "
                "raise --epochs"
            ]
        return []


# The value a field had, in effect, before it existed: a configuration saved by an older
# version lacks the field and means this (not today's default, which may differ).
LEGACY = {"grad_scaling": "centroid", "qat_schedule": "constant", "distill": 0.0,
          "qat_lr": 1e-3, "p_bounds": "extra", "criterion": "lrp",
          "bit_budget": 0.0, "arch": "mlp_gsc", "width": 1.0, "beta_max": 1.0,
          "cmn": False, "aug_epochs": 0, "lam_mode": "size", "clip_shadows": False}  # fmt: skip


def with_legacy(saved: dict) -> dict:
    """A saved configuration with the fields it predates filled in as they were then."""
    return {**{k: v for k, v in LEGACY.items() if k not in saved}, **saved}


# field -> (test, allowed range in words)
_RANGES = {
    "arch": (lambda v: v in ARCHS, " or ".join(ARCHS)),
    "width": (lambda v: _finite(v) and 0 < v <= 4, "a number in (0, 4]"),
    "bits": (supported, RANGE_TEXT),
    "bit_budget": (lambda v: _finite(v) and (v == 0 or 2 <= v <= 5), "0 (off) or 2..5"),
    "lam": (lambda v: _finite(v) and v >= 0, "a finite number >= 0"),
    "p": (lambda v: _finite(v) and 0 <= v <= 1, "0..1"),
    "method": (lambda v: v in METHODS, " or ".join(METHODS)),
    "criterion": (lambda v: v in CRITERIA, " or ".join(CRITERIA)),
    "lam_mode": (lambda v: v in LAMBDA_MODES, " or ".join(LAMBDA_MODES)),
    "features": (lambda v: v in FEATURES, " or ".join(FEATURES)),
    "cmn": (lambda v: isinstance(v, bool), "true or false"),
    "clip_shadows": (lambda v: isinstance(v, bool), "true or false"),
    "grad_scaling": (lambda v: v in GRAD_SCALINGS, " or ".join(GRAD_SCALINGS)),
    "p_bounds": (lambda v: v in P_BOUNDS, " or ".join(P_BOUNDS)),
    "epochs": (lambda v: _int(v) and v >= 0, "an integer >= 0"),
    "lam_warmup": (lambda v: _finite(v) and v >= 0, "a finite number >= 0"),
    "fp_epochs": (lambda v: _int(v) and v >= 1, "an integer >= 1"),
    "aug_epochs": (lambda v: _int(v) and v >= 0, "an integer >= 0"),
    "batch": (lambda v: _int(v) and v >= 1, "an integer >= 1"),
    "fp_lr": (lambda v: _finite(v) and v > 0, "a finite number > 0"),
    "qat_lr": (lambda v: _finite(v) and v > 0, "a finite number > 0"),
    "qat_schedule": (lambda v: v in QAT_SCHEDULES, " or ".join(QAT_SCHEDULES)),
    "distill": (lambda v: _finite(v) and 0 <= v <= 1, "0..1"),
    "weight_decay": (lambda v: _finite(v) and v >= 0, "a finite number >= 0"),
    "spec_masks": (lambda v: _int(v) and 0 <= v <= 4, "an integer 0..4"),
    "relevance_every": (lambda v: _int(v) and v >= 1, "an integer >= 1"),
    "relevance_batch": (lambda v: _int(v) and v >= 0, "an integer >= 0"),
    "beta_max": (lambda v: _finite(v) and 1 <= v <= 64, "a number in [1, 64]"),
    "seed": (lambda v: _int(v) and v >= 0, "an integer >= 0"),
}


def _check(name: str, value: object) -> str | None:
    test, allowed = _RANGES[name]
    return None if test(value) else f"must be {allowed}, got {value!r}"

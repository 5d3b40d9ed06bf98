"""Option types and option groups shared by several commands, so every command spells an
option, its range and its default the same way."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ecqx.bits import RANGE_TEXT, supported
from ecqx.config import (
    ARCHS,
    CRITERIA,
    DEVICES,
    FEATURES,
    GRAD_SCALINGS,
    LAMBDA_MODES,
    METHODS,
    P_BOUNDS,
    QAT_SCHEDULES,
    TrainConfig,
)
from ecqx.data.voices import FAMILIES

DEFAULT_DATA = Path("data/gsc-synth")


def positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}")
    return n


def positive_float(value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        v = float("nan")
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {value!r}")
    return v


def out_folder(value: str) -> str:
    """An output folder that can be created or written: checked before any work starts."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a file, not a folder")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot create {value}: {existing} is not writable")
    return value


def bits(value: str) -> int:
    try:
        b = int(value)
    except ValueError:
        b = -1
    if not supported(b):
        raise argparse.ArgumentTypeError(f"bit width must be {RANGE_TEXT}, got {value}")
    return b


def listed(item: type) -> object:
    """A comma-separated list of ``item`` values (one list syntax for every command)."""

    def parse(value: str) -> list:
        try:
            values = [item(v) for v in value.split(",") if v.strip()]
        except (ValueError, argparse.ArgumentTypeError) as e:
            raise argparse.ArgumentTypeError(f"{value!r}: {e}") from e
        if not values:
            raise argparse.ArgumentTypeError("expected at least one value")
        return values

    return parse


def family(value: str) -> str:
    if value not in FAMILIES:
        raise argparse.ArgumentTypeError(f"engine family must be one of {', '.join(FAMILIES)}")
    return value


def method(value: str) -> str:
    if value not in METHODS:
        raise argparse.ArgumentTypeError(f"method must be one of {', '.join(METHODS)}")
    return value


def add_data(p: argparse.ArgumentParser, default: str | None, text: str) -> None:
    p.add_argument("--data", default=default, help=text)


def add_out(p: argparse.ArgumentParser, default: str | None, text: str, **kw: object) -> None:
    p.add_argument("--out", default=default, type=out_folder, help=text, **kw)


def add_train_options(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument(
        "--bits",
        type=bits,
        default=d.bits,
        help=f"weight bit width {RANGE_TEXT} (default {d.bits})",
    )
    p.add_argument(
        "--lam",
        type=float,
        default=d.lam,
        help="entropy-constraint strength lambda; larger = sparser. With --lam-mode "
        "collapse a fraction of each layer's collapse point: on MLP_GSC 0.1..1.7 spans "
        "~30-80%% sparsity with ECQ, and 0.1..0.3 ~76-79%% with ECQx at p 0.5; with --lam-mode "
        "size 4..256 spans ~30-80%% with ECQ (default "
        f"{d.lam:g}, {d.lam_mode} mode, with p {d.p}: ECQx's sparsest point within ~1 pp "
        "of float)",
    )
    p.add_argument(
        "--p",
        type=float,
        default=d.p,
        help="ECQx target: max extra sparsity per layer that relevance may add, "
        f"0..1 (default {d.p}; the paper's 0.1 leaves ECQx below ECQ on MLP_GSC)",
    )
    p.add_argument(
        "--method",
        type=method,
        default=d.method,
        help="ecqx: LRP relevance in the assignment; ecq: plain entropy-constrained "
        f"(default {d.method})",
    )
    add_schedule_options(p)


def add_lam_mode(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument(
        "--lam-mode",
        choices=LAMBDA_MODES,
        default=d.lam_mode,
        help="per-layer lambda: collapse = --lam x the layer's own collapse lambda x "
        "(N_layer / N_largest + 0.05) / 1.05 (--lam a fraction, ~0.05..2); size = --lam x "
        f"N_layer / N_largest (--lam ~4..256) (default {d.lam_mode})",
    )


def add_schedule_options(p: argparse.ArgumentParser, seeds: bool = False) -> None:
    """The options a single run and a sweep share; a sweep takes ``--seeds`` (a list) where a
    run takes ``--seed``."""
    d = TrainConfig()
    p.add_argument(
        "--epochs",
        type=int,
        default=d.epochs,
        help=f"quantization-aware training epochs (default {d.epochs})",
    )
    add_lam_mode(p)
    p.add_argument(
        "--lam-warmup",
        type=float,
        default=d.lam_warmup,
        help="epochs over which lambda ramps linearly from 0 to --lam; 0 applies it from the "
        f"first step, which collapses large lambdas (default {d.lam_warmup:g})",
    )
    p.add_argument(
        "--fp-epochs",
        type=int,
        default=d.fp_epochs,
        help="full-precision pre-training epochs; the pre-trained model is cached in "
        f"the output folder and reused (default {d.fp_epochs})",
    )
    p.add_argument("--aug-epochs", type=int, default=d.aug_epochs,
                   help="MLP_GSC: distinct augmented copies of the training set (time shift, "
                   "background noise), cycled over the epochs and kept in the data's cache; 0 "
                   f"= a fresh one every epoch (default {d.aug_epochs})")  # fmt: skip
    p.add_argument("--fp-lr", type=float, default=d.fp_lr,
                   help="pre-training: SGD learning rate, cosine decay to 0 "
                   f"(default {d.fp_lr:g})")  # fmt: skip
    p.add_argument("--weight-decay", type=float, default=d.weight_decay,
                   help=f"pre-training: SGD weight decay (default {d.weight_decay:g})")  # fmt: skip
    p.add_argument("--batch", type=int, default=d.batch, help=f"batch size (default {d.batch})")
    p.add_argument("--relevance-every", type=int, default=d.relevance_every,
                   help="ECQx: LRP relevance and the beta search every k-th QAT step (the "
                   "relevance is a running average; 1 = every step, the paper's way; default "
                   f"{d.relevance_every})")  # fmt: skip
    p.add_argument("--relevance-batch", type=int, default=d.relevance_batch,
                   help="ECQx: the relevance pass sees only the first N samples of each (shuffled)"
                   f" batch; 0 = the whole batch (default {d.relevance_batch})")  # fmt: skip
    p.add_argument("--features", choices=FEATURES, default=d.features,
                   help="MFCC arithmetic: fixed = the integer front end the exported C library "
                   "runs on the device (bit-exact), float = float64 (default "
                   f"{d.features})")  # fmt: skip
    p.add_argument("--cmn", action=argparse.BooleanOptionalAction, default=d.cmn,
                   help="cepstral mean normalization: subtract each coefficient's mean over the "
                   "clip's frames (on the device: over the window's), which removes a fixed "
                   "channel colour, gain and a voice's spectral tilt (default "
                   f"{'--cmn' if d.cmn else '--no-cmn'})")  # fmt: skip
    p.add_argument("--spec-masks", type=int, default=d.spec_masks,
                   help="SpecAugment on the training MFCCs: this many time masks (up to 6 "
                   "frames) and coefficient masks (up to 3) per example, 0..4 (default "
                   f"{d.spec_masks}: off)")  # fmt: skip
    p.add_argument("--qat-lr", type=float, default=d.qat_lr,
                   help="Adam learning rate of the shadow weights during QAT "
                   f"(default {d.qat_lr:g})")  # fmt: skip
    p.add_argument("--qat-schedule", choices=QAT_SCHEDULES, default=d.qat_schedule,
                   help="QAT learning rate: constant, or cosine decay to 0 over the QAT steps "
                   f"(default {d.qat_schedule})")  # fmt: skip
    p.add_argument("--distill", type=float, default=d.distill,
                   help="knowledge distillation during QAT: weight 0..1 of the float model's "
                   "soft outputs (temperature 4) in the loss; 0 = off "
                   f"(default {d.distill:g})")  # fmt: skip
    p.add_argument("--grad-scaling", choices=GRAD_SCALINGS, default=d.grad_scaling,
                   help="factor on the straight-through gradient of a weight in centroid c: "
                   "centroid = |c| x step, 1 at zero (EC2T/ECQ); steps = max(|c|, 1), the zero "
                   f"cluster like its neighbours (default {d.grad_scaling})")  # fmt: skip
    p.add_argument("--clip-shadows", action=argparse.BooleanOptionalAction,
                   default=d.clip_shadows,
                   help="clamp the shadow weights to the grid's outer centroids after every QAT "
                   "update, as BinaryConnect does: beyond the edge the straight-through gradient "
                   "never changes a code, so those weights drift on (matters at 2 bits) "
                   f"(default {'on' if d.clip_shadows else 'off'})")  # fmt: skip
    p.add_argument("--bit-budget", type=float, default=d.bit_budget,
                   help="mixed precision: per-layer bit widths 2..5 chosen by the float model's "
                   "relevance density, mean bits per weight at most this (e.g. 3.5); overrides "
                   f"--bits; 0 = off (default {d.bit_budget:g})")  # fmt: skip
    p.add_argument("--criterion", choices=CRITERIA, default=d.criterion,
                   help="ECQx's relevance: lrp (the paper), deeplift (Captum), "
                   f"gradxw = gradient x weight (default {d.criterion})")  # fmt: skip
    p.add_argument("--device", choices=DEVICES, default="auto",
                   help="where to train: auto = CUDA when torch sees a GPU, else the CPU "
                   "(default auto)")  # fmt: skip
    p.add_argument("--p-bounds", choices=P_BOUNDS, default=d.p_bounds,
                   help="ECQx: what p bounds - extra = the zeros relevance adds (the paper); "
                   "both = also the weights relevance keeps from zero (default "
                   f"{d.p_bounds})")  # fmt: skip
    p.add_argument("--beta-max", type=float, default=d.beta_max,
                   help="ECQx: the largest relevance exponent beta the per-layer search may "
                   "pick, >= 1 (the paper: 1; at p >= 0.5 that cap binds on MLP_GSC) "
                   f"(default {d.beta_max:g})")  # fmt: skip
    if seeds:
        p.add_argument("--seeds", type=listed(int), default=[d.seed],
                       help="comma-separated seeds; each one pre-trains its own float model "
                       f"(default {d.seed})")  # fmt: skip
    else:
        p.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")


RUN_OPTIONS = ("bits", "lam", "p", "method")  # add_train_options, one value each
SCHEDULE_OPTIONS = ("epochs", "lam_mode", "lam_warmup", "fp_epochs", "aug_epochs", "fp_lr",
                    "weight_decay", "batch", "features", "cmn", "spec_masks", "relevance_every",
                    "relevance_batch", "qat_lr", "qat_schedule", "distill",
                    "grad_scaling", "clip_shadows", "p_bounds", "criterion", "bit_budget",
                    "beta_max")  # fmt: skip


MODEL_OPTIONS = ("arch", "width")  # add_model_options (`ecqx train` only)


def add_model_options(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--arch", choices=ARCHS, default=d.arch,
                   help="mlp_gsc: the keyword-spotting MLP on MFCCs of --data (Speech Commands "
                   "layout); vgg16, vgg16bn, resnet18: the papers' conv nets (CIFAR variants) "
                   "on 32x32 RGB images of --data (CIFAR-10 python batches or train/ and "
                   f"test/ class folders, e.g. `ecqx data images`) (default {d.arch})")  # fmt: skip
    p.add_argument("--width", type=float, default=d.width,
                   help="conv nets: channel-width multiplier, e.g. 0.125 for a CPU-sized VGG16 "
                   f"(default {d.width:g}: the papers' widths)")  # fmt: skip


def config_from(args: argparse.Namespace, single_run: bool = True) -> TrainConfig:
    """The run's configuration, checked (a bad value names its option), with its warnings;
    for a sweep (``single_run=False``) the grid options stay at their defaults. Commands
    without ``--arch`` train MLP_GSC."""
    names = SCHEDULE_OPTIONS + (RUN_OPTIONS + ("seed",) if single_run else ())
    names += tuple(k for k in MODEL_OPTIONS if hasattr(args, k))
    cfg = TrainConfig(**{k: getattr(args, k) for k in names})
    cfg.validate()
    for w in cfg.warnings():
        print(f"ecqx: warning: {w}", file=sys.stderr)
    return cfg

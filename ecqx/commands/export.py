"""``ecqx export``: the integer model and its formats, or the Cortex-M firmware."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecqx.codegen.boards import default_board, emulated
from ecqx.codegen.choices import WEIGHT_FORMATS
from ecqx.commands.options import add_out
from ecqx.export.choices import TARGETS
from ecqx.integer.requant import ROUNDINGS
from ecqx.run import ExportDir, RunDir

HELP = "integer model + ONNX / TFLite / C / NNC exports, or the Cortex-M firmware"
DESCRIPTION = (
    "Build the integer model (int8 activations calibrated on training data, int32 "
    "accumulators, fixed-point requantization) from a trained checkpoint, prove its "
    "accumulators cannot overflow, and write the requested formats into --out, each checked "
    "against the integer reference engine on the test split. --target cortex-m renders the C "
    "kernel into the PlatformIO firmware and builds it. A conv net's run (--arch vgg16, "
    "vgg16bn, resnet18) exports its integer model with BatchNorm folded, ONNX and NNC."
)


def is_conv_run(model: Path) -> bool:
    """Whether ``--model`` is a conv net's run (its export is ONNX and NNC only)."""
    from ecqx.checkpoint import Checkpoint
    from ecqx.config import IMAGE_ARCHS

    return Checkpoint.load(model).architecture.get("name") in IMAGE_ARCHS


def add_model(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="folder written by `ecqx train --out`")


def add_board(p: argparse.ArgumentParser, text: str) -> None:
    p.add_argument("--board", default=default_board(), choices=emulated(),
                   help=f"{text} (default {default_board()})")  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model(p)
    p.add_argument("--target", choices=("all", *TARGETS, "cortex-m"), default="all",
                   help="what to export (default all: onnx, tflite, c, nnr)")  # fmt: skip
    add_out(p, None, "output folder (default MODEL/export)")
    p.add_argument("--data", default=None,
                   help="dataset for calibration and checks (default: the one the model was "
                   "trained on)")  # fmt: skip
    p.add_argument(
        "--weights",
        choices=WEIGHT_FORMATS,
        default="auto",
        help="C weight encoding per layer: centroid-grouped sparse by row, colsparse = by "
        "input column (skips zero inputs, for layers behind a ReLU), dense packed at the bit "
        "width, dense int8; auto = per layer the sparse form with fewer estimated "
        "instructions if it is smaller than dense packed, else dense (default); fast = the "
        "fewest instructions by a Cortex-M4 cost model",
    )
    p.add_argument("--rounding", choices=ROUNDINGS, default=ROUNDINGS[0],
                   help="requantization rounding of the integer model, which every export "
                   "follows: single = one rounding (LiteRT, TFLite with TFLITE_SINGLE_ROUNDING); "
                   "double = gemmlowp's two roundings, what TFLite Micro's reference kernels do, "
                   f"so the .tflite runs bit-exactly there (default {ROUNDINGS[0]})")  # fmt: skip
    add_board(p, "emulated Cortex-M board for --target cortex-m; real boards build from the "
              "exported firmware folder with `pio run -e <board>`")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else RunDir(Path(args.model)).export.root
    if is_conv_run(Path(args.model)):
        from ecqx.export.conv_pipeline import CONV_TARGETS, conv_summary, export_conv

        targets = list(CONV_TARGETS) if args.target == "all" else [args.target]
        print(conv_summary(export_conv(Path(args.model), out, targets, data=args.data)))
        print(f"report: {ExportDir(out).report}")
        return 0
    if args.target == "cortex-m":
        from ecqx.codegen.firmware_build import export_cortex_m, firmware_table

        print(firmware_table(export_cortex_m(Path(args.model), out, board=args.board,
                                             data=args.data, weights=args.weights,
                                             rounding=args.rounding)))  # fmt: skip
        return 0
    from ecqx.export.pipeline import export, summary_table

    targets = list(TARGETS) if args.target == "all" else [args.target]
    report = export(Path(args.model), out, targets, data=args.data, weights=args.weights,
                    rounding=args.rounding)  # fmt: skip
    print(summary_table(report))
    print(f"report: {ExportDir(out).report}")
    return 0

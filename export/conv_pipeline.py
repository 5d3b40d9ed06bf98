"""``ecqx export`` for a conv net: checkpoint -> conv integer model (BatchNorm folded) ->
ONNX QDQ and NNC, each checked against the conv reference engine on the test images, plus
the PyTorch model's agreement with it. C kernels and TFLite exist for MLP_GSC only."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from ecqx.checkpoint import Checkpoint
from ecqx.data.images import load_images, normalize_images
from ecqx.export import nnr, onnx_conv
from ecqx.files import exclusive, write_json
from ecqx.integer import conv_engine
from ecqx.integer.conv_build import build_conv
from ecqx.integer.model import IntegerModelError
from ecqx.report import FLOAT, INTEGER, QUANTIZED, percent
from ecqx.run import ExportDir

CONV_TARGETS = ("onnx", "nnr")
CALIBRATION_IMAGES = 512


def torch_predictions(ck: Checkpoint, images: np.ndarray) -> np.ndarray:
    """The trained PyTorch model's classes (quantized weights, float activations, BN as is)."""
    import torch

    from ecqx.model import vision

    net = vision.from_checkpoint(ck.architecture, ck.state)
    net.eval()
    x = torch.from_numpy(np.ascontiguousarray(normalize_images(images, ck.input_mean,
                                                               ck.input_std)))  # fmt: skip
    with torch.no_grad():
        return net(x).argmax(1).numpy()


def export_conv(
    model_dir: Path,
    out: Path,
    targets: list[str],
    data: Path | None = None,
    log: Callable[[str], object] = print,
) -> dict:
    bad = [t for t in targets if t not in CONV_TARGETS]
    if bad:
        raise IntegerModelError(
            f"--target {','.join(bad)}: conv nets export to {' and '.join(CONV_TARGETS)} (the C "
            "kernels, TFLite and the firmware are MLP_GSC's); use --target onnx or nnr"
        )
    with exclusive(Path(out), "export"):
        return _export_conv(Path(model_dir), Path(out), targets, data, log)


def _export_conv(
    model_dir: Path, out: Path, targets: list[str], data: Path | None, log: Callable
) -> dict:
    ck = Checkpoint.load(model_dir)
    images = load_images(Path(data) if data else ck.data_root)
    files = ExportDir(out)
    out.mkdir(parents=True, exist_ok=True)
    im = build_conv(ck, images.images["train"][:CALIBRATION_IMAGES])
    im.save(files.integer_model)
    log(f"conv integer model {im.identity()} (BatchNorm folded) -> {files.integer_model}")
    test, labels = images.images["test"], images.labels["test"]
    ref = conv_engine.run(im, im.quantize_input(test))
    torch_pred = torch_predictions(ck, test)
    report: dict = {
        "identity": im.identity(),
        "model": str(model_dir),
        "architecture": ck.architecture,
        "test_samples": int(len(labels)),
        "top1": {
            FLOAT: ck.metrics["top1_float"]["testing"],
            QUANTIZED: ck.metrics["top1_quantized"]["testing"],
            INTEGER: float((ref.argmax(1) == labels).mean()),
        },
        "agreement": {"pytorch_predictions": float((torch_pred == ref.argmax(1)).mean())},
        "sparsity": im.sparsity,
        "weights": im.weights,
        "files": {"integer_model": str(files.integer_model)},
    }
    if "onnx" in targets:
        onnx_conv.export(im, files.onnx)
        levels = {}
        for level in onnx_conv.LEVELS:
            got = onnx_conv.run(files.onnx, test, level)
            ties = onnx_conv.near_ties(im, files.onnx, test, level)
            levels[level] = {
                "outputs_equal": float((got == ref).all(1).mean()),
                "top1": float((got.argmax(1) == labels).mean()),
                **ties,
            }
            if ties["unexplained"]:
                raise IntegerModelError(
                    f"ONNX Runtime ({level}) differs from the conv integer "
                    f"model beyond float32 rounding: {ties['unexplained'][:3]}"
                )
        report["agreement"]["onnx"] = levels
        report["top1"]["onnx"] = levels["all"]["top1"]
        report["files"]["onnx"] = str(files.onnx)
        log(
            f"onnx -> {files.onnx} (ONNX Runtime at 4 optimization levels; bit-exact on "
            f"{percent(levels['all']['outputs_equal'])} of test images, every difference a "
            "float32 near-tie)"
        )
    if "nnr" in targets:
        report["nnc"] = nnr.export(im, files.nnc)
        report["files"]["nnc"] = str(files.nnc)
        log(f"nnr -> {files.nnc} ({report['nnc']['bytes']} bytes, lossless round trip)")
    write_json(files.report, report)
    return report


def conv_summary(report: dict) -> str:
    lines = [
        f"{report['architecture']['name']} x{report['architecture']['width']:g}: "
        f"{report['weights']:,} weights, sparsity {percent(report['sparsity'])}"
    ]
    if "nnc" in report:
        lines.append(
            f"NNC bitstream {report['nnc']['bytes']} bytes "
            f"({report['nnc']['compression_ratio']:.1f}x vs float32)"
        )
    lines.append("test top-1: " + ", ".join(f"{k} {percent(v)}" for k, v in report["top1"].items()))
    lines.append(
        f"PyTorch (float activations) and integer model agree on "
        f"{percent(report['agreement']['pytorch_predictions'])} of test predictions"
    )
    return "\n".join(lines)

"""``ecqx export``: checkpoint -> integer model -> every requested format, each checked against
the reference engine on the test split, plus a size/accuracy report (JSON + table)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ecqx.files import exclusive, write_json
from ecqx.integer import engine
from ecqx.integer.build import FLOAT_EXACT, check_overflow
from ecqx.integer.fakequant import fake_quant_predict
from ecqx.integer.from_run import build_integer
from ecqx.run import ExportDir


def _agreement(a: np.ndarray, b: np.ndarray) -> dict:
    a, b = np.asarray(a), np.asarray(b)
    return {
        "outputs_equal": float((a == b).all(axis=1).mean()),
        "values_equal": float((a == b).mean()),
        "max_abs_diff": int(np.abs(a.astype(np.int64) - b).max(initial=0)),
        "predictions_equal": float((a.argmax(1) == b.argmax(1)).mean()),
    }


def export(
    model_dir: Path,
    out: Path,
    targets: list[str],
    data: Path | None = None,
    weights: str = "auto",
    log=print,  # noqa: ANN001
) -> dict:
    with exclusive(out, "export"):
        return _export(Path(model_dir), Path(out), targets, data, weights, log)


def _export(
    model_dir: Path,
    out: Path,
    targets: list[str],
    data: Path | None,
    weights: str,
    log: Callable[[str], object],
) -> dict:
    ck, gsc, im = build_integer(model_dir, data)
    bounds = check_overflow(im)
    files = ExportDir(out)
    im.save(files.integer_model)
    log(f"integer model {im.identity()} -> {files.integer_model}")
    feats, labels = gsc.features("testing"), gsc.labels("testing")
    x = im.quantize_input(feats)
    ref = engine.run(im, x)
    metrics = ck["metrics"]
    fake = fake_quant_predict(im, x)
    report: dict = {
        "identity": im.identity(),
        "model": str(model_dir),
        "test_samples": int(len(labels)),
        "top1": {
            "float": metrics["top1_fp"]["testing"],
            "weights_quantized": metrics["top1_quantized"]["testing"],
            "integer": float((ref.argmax(1) == labels).mean()),
            "pytorch_fake_quant": float((fake == labels).mean()),
        },
        "agreement": {"pytorch_fake_quant_predictions": float((fake == ref.argmax(1)).mean())},
        "sparsity": im.sparsity,
        "accumulator_bounds": bounds,
        "accumulators_float32_exact": all(b < FLOAT_EXACT for b in bounds),
        "layers": [
            {"name": ly.name, "shape": list(ly.shape), "bits": ly.bits, "sparsity": ly.sparsity}
            for ly in im.layers
        ],
        "files": {"integer_model": str(files.integer_model)},
    }
    if "onnx" in targets:
        from ecqx.export import onnx_qdq

        t0 = time.perf_counter()
        path = onnx_qdq.export(im, out / "model.onnx")
        report["files"]["onnx"] = str(path)
        for level in onnx_qdq.LEVELS:
            got = onnx_qdq.run(path, feats, level)
            report["agreement"][f"onnxruntime_{level}"] = _agreement(got, ref)
        report["top1"]["onnxruntime"] = float((got.argmax(1) == labels).mean())
        log(f"ONNX QDQ -> {path} (checked in onnxruntime, {time.perf_counter() - t0:.1f} s)")
    if "tflite" in targets:
        from ecqx.export import tflite_fc

        t0 = time.perf_counter()
        path = tflite_fc.export(im, out / "model.tflite")
        # An all-INT8-weight twin: LiteRT runs int8 filters with single rounding everywhere.
        wide = dataclasses.replace(
            im, layers=[dataclasses.replace(ly, bits=max(ly.bits, 5)) for ly in im.layers]
        )
        path8 = tflite_fc.export(wide, out / "model_int8w.tflite")
        double = engine.run(dataclasses.replace(im, rounding="double"), x)
        lite4 = tflite_fc.run_litert(path, x)
        lite8 = tflite_fc.run_litert(path8, x)
        tflm = tflite_fc.run_tflm(path, x)
        report["files"] |= {"tflite": str(path), "tflite_int8_weights": str(path8)}
        report["agreement"] |= {
            "litert_int4": _agreement(lite4, ref),
            "litert_int8_weights": _agreement(lite8, ref),
            "tflm": _agreement(tflm, ref),
            "tflm_vs_double_rounding": _agreement(tflm, double),
        }
        report["top1"] |= {
            "litert": float((lite4.argmax(1) == labels).mean()),
            "tflm": float((tflm.argmax(1) == labels).mean()),
        }
        log(f"TFLite -> {path}, {path8} (LiteRT + TFLM, {time.perf_counter() - t0:.1f} s)")
    from ecqx.export import c_headers

    sizes = [c_headers.layer_sizes(ly) for ly in im.layers]
    report["c_bytes"] = {
        k: sum(s[k] for s in sizes) for k in ("sparse", "dense_packed", "dense_int8")
    }
    for row, s in zip(report["layers"], sizes):
        row["bytes"] = s
    if "c" in targets:
        path, chosen = c_headers.export(im, out, weights)
        report["files"]["c_header"] = str(path)
        report["c_bytes"]["chosen"] = sum(c["weight_bytes"] for c in chosen)
        for row, c in zip(report["layers"], chosen):
            row["c_format"] = c["format"]
        log(f"C header -> {path}")
    if "nnr" in targets:
        from ecqx.export import nnr

        path = out / "model.nnc"
        report["nnc"] = nnr.export(im, path)
        report["files"]["nnc"] = str(path)
        log(f"NNC bitstream -> {path} (decoded and compared exactly)")
    write_json(files.report, report)
    return report


def summary_table(report: dict) -> str:
    hdr = (
        f"{'layer':6s} {'shape':>9s} {'bits':>4s} {'sparsity':>8s} "
        f"{'sparse B':>8s} {'packed B':>8s} {'int8 B':>8s}"
    )
    lines = [hdr]
    for r in report["layers"]:
        b = r["bytes"]
        lines.append(
            f"{r['name']:6s} {'x'.join(map(str, r['shape'])):>9s} {r['bits']:4d} "
            f"{r['sparsity']:8.3f} {b['sparse']:8d} {b['dense_packed']:8d} {b['dense_int8']:8d}"
        )
    cb = report["c_bytes"]
    lines.append(
        f"{'total':6s} {'':9s} {'':4s} {report['sparsity']:8.3f} {cb['sparse']:8d} "
        f"{cb['dense_packed']:8d} {cb['dense_int8']:8d}"
    )
    if "nnc" in report:
        n = report["nnc"]
        lines.append(
            f"NNC bitstream {n['bytes']} bytes, compression ratio {n['compression_ratio']:.1f}x "
            f"vs float32 ({n['float32_bytes']} bytes)"
        )
    lines.append("test top-1: " + ", ".join(f"{k} {v:.4f}" for k, v in report["top1"].items()))
    ag = report["agreement"]
    exact = [k for k, v in ag.items() if isinstance(v, dict) and v["outputs_equal"] == 1.0]
    lines.append("bit-exact with the integer reference: " + (", ".join(exact) or "none"))
    return "\n".join(lines)

"""``ecqx export``: checkpoint -> integer model -> every requested format, each checked against
the reference engine on the test split, plus a size/accuracy report (JSON + table)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ecqx.codegen.formats import layer_sizes
from ecqx.codegen.frontend import has_frontend
from ecqx.export.targets import Probe, manager, merge
from ecqx.files import exclusive, write_json
from ecqx.integer import engine
from ecqx.integer.build import FLOAT_EXACT, check_overflow
from ecqx.integer.fakequant import fake_quant_predict
from ecqx.integer.from_run import build_integer
from ecqx.integer.requant import ROUNDINGS
from ecqx.report import FLOAT, INTEGER, QUANTIZED, percent
from ecqx.run import ExportDir


def export(
    model_dir: Path,
    out: Path,
    targets: list[str],
    data: Path | None = None,
    weights: str = "auto",
    log=print,  # noqa: ANN001
    rounding: str = ROUNDINGS[0],
) -> dict:
    with exclusive(out, "export"):
        return _export(Path(model_dir), Path(out), targets, data, weights, log, rounding)


def _export(
    model_dir: Path,
    out: Path,
    targets: list[str],
    data: Path | None,
    weights: str,
    log: Callable[[str], object],
    rounding: str,
) -> dict:
    ck, gsc, im = build_integer(model_dir, data, rounding)
    bounds = check_overflow(im)
    files = ExportDir(out)
    im.save(files.integer_model)
    log(f"integer model {im.identity()} -> {files.integer_model}")
    feats, labels = gsc.features("testing"), gsc.labels("testing")
    x = im.quantize_input(feats)
    ref = engine.run(im, x)
    metrics = ck.metrics
    fake = fake_quant_predict(im, x)
    report: dict = {
        "identity": im.identity(),
        "model": str(model_dir),
        "test_samples": int(len(labels)),
        "top1": {
            FLOAT: metrics["top1_float"]["testing"],
            QUANTIZED: metrics["top1_quantized"]["testing"],
            INTEGER: float((ref.argmax(1) == labels).mean()),
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
    sizes = [layer_sizes(ly) for ly in im.layers]
    # None where a layer is too wide for the sparse encoding (it is stored dense)
    report["c_bytes"] = {
        k: sum(s[k] for s in sizes) if all(k in s for s in sizes) else None
        for k in ("sparse", "dense_packed", "dense_int8")
    }
    for row, s in zip(report["layers"], sizes):
        row["bytes"] = s
    probe = Probe(im, feats, x, ref, pcm=gsc.pcm("testing") if has_frontend(im) else None)
    for target in targets:
        t0 = time.perf_counter()
        m = manager(target)
        art = m.write(im, out, weights)
        checked = m.check(art, probe)
        report["files"] |= {k: str(v) for k, v in art.files.items()}
        merge(report, art.report)
        report["agreement"] |= checked.agreement
        report["top1"] |= {
            k: float((v.argmax(1) == labels).mean()) for k, v in checked.outputs.items()
        }
        paths = ", ".join(str(p) for p in art.files.values())
        log(f"{m.name} -> {paths} ({art.note}, {time.perf_counter() - t0:.1f} s)")
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
            f"{percent(r['sparsity']):>8s} {b['sparse']:8d} {b['dense_packed']:8d} "
            f"{b['dense_int8']:8d}"
        )
    cb = report["c_bytes"]
    lines.append(
        f"{'total':6s} {'':9s} {'':4s} {percent(report['sparsity']):>8s} {cb['sparse']:8d} "
        f"{cb['dense_packed']:8d} {cb['dense_int8']:8d}"
    )
    if "nnc" in report:
        n = report["nnc"]
        lines.append(
            f"NNC bitstream {n['bytes']} bytes, compression ratio {n['compression_ratio']:.1f}x "
            f"vs float32 ({n['float32_bytes']} bytes)"
        )
    lines.append("test top-1: " + ", ".join(f"{k} {percent(v)}" for k, v in report["top1"].items()))
    ag = report["agreement"]
    exact = [k for k, v in ag.items() if isinstance(v, dict) and v.get("outputs_equal") == 1.0]
    lines.append("bit-exact with the integer reference: " + (", ".join(exact) or "none"))
    if "c_example" in ag:
        ex = ag["c_example"]
        lines.append(
            f"C library example (WAV in, keyword out): the reference's keyword on "
            f"{round(ex['keywords_equal'] * ex['clips'])} of {ex['clips']} test clips"
        )
    return "\n".join(lines)

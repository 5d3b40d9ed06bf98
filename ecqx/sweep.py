"""The paper's experiment grid: ECQ vs ECQx over lambda, p and bit width.

Every grid point is one ``train`` run in its own folder under ``out/runs``; all runs share one
full-precision model (``out/fp.npz``), so the sweep pays for pre-training once. A run whose
``metrics.json`` exists with the same configuration is not trained again, so an interrupted
sweep resumes where it stopped. After every run the table ``results.csv`` is rewritten from the
run folders, so it always holds every finished point; the figures are drawn at the end.

Size is the NNC (DeepCABAC) bitstream of the integer model (codes + int32 biases), the
measure of the paper's size plots.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from itertools import product
from pathlib import Path

from ecqx.files import write_json, write_text
from ecqx.report import percent
from ecqx.run import RunDir
from ecqx.train import TrainConfig, finished

SIZE = "size.json"  # per run: integer top-1 and NNC bytes, measured once

COLUMNS = (
    "run",
    "method",
    "bits",
    "lam",
    "p",
    "sparsity",
    "top1_float",
    "top1_quantized",
    "top1_integer",
    "nnc_bytes",
    "entropy_bits_per_weight",
    "qat_epoch_seconds",
)


@dataclass(frozen=True)
class Point:
    method: str
    bits: int
    lam: float
    p: float

    @property
    def name(self) -> str:
        return f"{self.method}-b{self.bits}-lam{self.lam:g}-p{self.p:g}"


def grid(methods: list[str], bits: list[int], lams: list[float], ps: list[float]) -> list[Point]:
    """All grid points; ECQ ignores p, so it gets one point per (bits, lambda) with p = 0."""
    points = []
    for method, b, lam in product(methods, bits, lams):
        for p in ps if method == "ecqx" else [0.0]:
            points.append(Point(method, b, lam, p))
    return points


def measure_size(run: Path, data: Path | None) -> dict:
    """Integer model of a finished run: its test top-1 and NNC bitstream bytes."""
    from ecqx.export import nnr
    from ecqx.integer import engine
    from ecqx.integer.from_run import build_integer

    _, gsc, im = build_integer(run, data)
    pred = engine.predict(im, im.quantize_input(gsc.features("testing")))
    top1 = float((pred == gsc.labels("testing")).mean())
    return {"top1_integer": top1, "nnc_bytes": len(nnr.encode(im))}


def row(run: Path) -> dict:
    m = json.loads(RunDir(run).metrics.read_text())
    size = json.loads((run / SIZE).read_text()) if (run / SIZE).is_file() else {}
    c = m["config"]
    qat_s = m["qat_epoch_seconds"]
    return {
        "run": run.name,
        "method": c["method"],
        "bits": c["bits"],
        "lam": c["lam"],
        "p": c["p"],
        "sparsity": round(m["sparsity"], 5),
        "top1_float": round(m["top1_float"]["testing"], 5),
        "top1_quantized": round(m["top1_quantized"]["testing"], 5),
        "top1_integer": round(size.get("top1_integer", float("nan")), 5),
        "nnc_bytes": size.get("nnc_bytes", ""),
        "entropy_bits_per_weight": round(m["entropy_bits_per_weight"], 4),
        "qat_epoch_seconds": round(sum(qat_s) / len(qat_s), 3) if qat_s else "",
    }


def write_table(out: Path) -> list[dict]:
    runs = sorted(p.parent for p in (out / "runs").glob("*/metrics.json"))
    rows = [row(r) for r in runs]
    table = io.StringIO(newline="")
    w = csv.DictWriter(table, fieldnames=COLUMNS)
    w.writeheader()
    w.writerows(rows)
    write_text(out / "results.csv", table.getvalue())
    return rows


def sweep(
    data_dir: Path,
    out: Path,
    points: list[Point],
    base: TrainConfig,
    log: Callable[[str], None] = print,
    progress: bool = True,
) -> list[dict]:
    """Train every point not yet finished, measure it, keep ``results.csv`` current."""
    from ecqx.data.features import MfccParams
    from ecqx.data.gsc import GSCData
    from ecqx.train import train

    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    data = GSCData(Path(data_dir), params=MfccParams(arithmetic=base.features))
    for i, pt in enumerate(points, 1):
        cfg = replace(base, method=pt.method, bits=pt.bits, lam=pt.lam, p=pt.p)
        cfg.validate()
        run = out / "runs" / pt.name
        if finished(run, cfg):
            log(f"[{i}/{len(points)}] {pt.name}: done before, kept")
        else:
            t0 = time.perf_counter()
            log(f"[{i}/{len(points)}] {pt.name}: training")
            train(data, run, cfg, progress=progress, fp_path=RunDir(out).fp_cache)
            (run / SIZE).unlink(missing_ok=True)
            log(f"[{i}/{len(points)}] {pt.name}: {time.perf_counter() - t0:.0f} s")
        if not (run / SIZE).is_file():
            write_json(run / SIZE, measure_size(run, Path(data_dir)))
        r = row(run)
        log(
            f"    sparsity {percent(r['sparsity'])}  top-1 {percent(r['top1_quantized'])} "
            f"(integer {percent(r['top1_integer'])})  NNC {r['nnc_bytes']} B"
        )
        write_table(out)
    return write_table(out)

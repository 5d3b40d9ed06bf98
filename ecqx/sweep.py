"""The paper's experiment grid: ECQ vs ECQx over lambda, p, bit width and seed, on Ray.

Every grid point is one ``train`` run in its own folder under ``out/runs``, trained by one Ray
job (``ecqx.cluster``: a local instance by default, a cluster given its address). The points
of one seed share one full-precision model (``out/fp-s<seed>.npz``), pre-trained by a job they
wait for, so the sweep pays for pre-training once per seed. A run whose ``metrics.json``
exists with the same configuration is not trained again, so an interrupted sweep resumes where
it stopped. As each job finishes the table ``results.csv`` is rewritten from the run folders,
so it always holds every finished point; ``summary.csv`` (mean and standard deviation over
seeds) and the figures are drawn at the end.

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

from tqdm import tqdm

from ecqx.files import write_json, write_text
from ecqx.report import percent
from ecqx.run import RunDir
from ecqx.sweep_tables import (
    SUMMARY_COLUMNS,
    comparison_markdown,
    summarize,
    summary_markdown,
    working_points,
)
from ecqx.train import TrainConfig, finished

SIZE = "size.json"  # per run: integer top-1 and NNC bytes, measured once

COLUMNS = (
    "run",
    "method",
    "bits",
    "lam",
    "p",
    "seed",
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
    seed: int = 0

    @property
    def name(self) -> str:
        return f"{self.method}-b{self.bits}-lam{self.lam:g}-p{self.p:g}-s{self.seed}"


def grid(
    methods: list[str],
    bits: list[int],
    lams: list[float],
    ps: list[float],
    seeds: list[int] = (0,),
) -> list[Point]:
    """All grid points, seed by seed (so that an interrupted sweep holds whole seeds first);
    ECQ ignores p, so it gets one point per (bits, lambda, seed) with p = 0."""
    points = []
    for seed, method, b, lam in product(seeds, methods, bits, lams):
        for p in ps if method == "ecqx" else [0.0]:
            points.append(Point(method, b, lam, p, seed))
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
        "seed": c["seed"],
        "sparsity": round(m["sparsity"], 5),
        "top1_float": round(m["top1_float"]["testing"], 5),
        "top1_quantized": round(m["top1_quantized"]["testing"], 5),
        "top1_integer": round(size.get("top1_integer", float("nan")), 5),
        "nnc_bytes": size.get("nnc_bytes", ""),
        "entropy_bits_per_weight": round(m["entropy_bits_per_weight"], 4),
        "qat_epoch_seconds": round(sum(qat_s) / len(qat_s), 3) if qat_s else "",
    }


def _csv(path: Path, rows: list[dict], columns: list[str]) -> None:
    table = io.StringIO(newline="")
    w = csv.DictWriter(table, fieldnames=columns)
    w.writeheader()
    w.writerows(rows)
    write_text(path, table.getvalue())


def write_table(out: Path) -> list[dict]:
    """``results.csv`` (one row per run) and ``summary.csv`` (per grid point over seeds)."""
    runs = sorted(p.parent for p in (out / "runs").glob("*/metrics.json"))
    rows = [row(r) for r in runs]
    _csv(out / "results.csv", rows, list(COLUMNS))
    summary = summarize(rows)
    _csv(out / "summary.csv", summary, SUMMARY_COLUMNS)
    write_json(out / "working_points.json", working_points(summary))
    write_text(out / "summary.md", summary_markdown(summary) + "\n" + comparison_markdown(rows))
    return rows


def fp_cache(out: Path, seed: int) -> Path:
    """The pre-trained float model every point of one seed shares."""
    return Path(out) / f"fp-s{seed}.npz"


def _load(data_dir: Path, base: TrainConfig) -> object:
    from ecqx.data.features import params_for
    from ecqx.data.gsc import GSCData

    return GSCData(Path(data_dir), params=params_for(base))


def _limit_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def pretrain_job(
    data_dir: Path, cfg: TrainConfig, path: Path, threads: int, device: str = "cpu"
) -> float:
    """A Ray job: make sure the float model of ``cfg.seed`` is cached at ``path``."""
    from ecqx.train import input_norm, pretrained, torch_device

    _limit_threads(threads)
    t0 = time.perf_counter()
    data = _load(data_dir, cfg)
    pretrained(data, cfg, path, input_norm(data), False, torch_device(device))
    return time.perf_counter() - t0


def point_job(
    data_dir: Path, run: Path, cfg: TrainConfig, fp: Path, threads: int, device: str = "cpu"
) -> dict:
    """A Ray job: train one grid point (unless finished) and measure its integer model."""
    from ecqx.train import train

    _limit_threads(threads)
    t0 = time.perf_counter()
    trained = not finished(run, cfg)
    if trained:
        train(_load(data_dir, cfg), run, cfg, progress=False, fp_path=fp, device=device)
        (run / SIZE).unlink(missing_ok=True)
    if not (run / SIZE).is_file():
        write_json(run / SIZE, measure_size(run, Path(data_dir)))
    return {"trained": trained, "seconds": time.perf_counter() - t0}


@dataclass
class SweepResult:
    rows: list[dict]
    failed: dict[str, str]  # job name -> error


def sweep(
    data_dir: Path,
    out: Path,
    points: list[Point],
    base: TrainConfig,
    workers: int | None = None,
    threads: int = 1,
    address: str | None = None,
    log: Callable[[str], None] = tqdm.write,
    progress: bool = True,
    device: str = "cpu",
) -> SweepResult:
    """Train every point not yet finished on Ray, one job per point, measure it, and keep
    ``results.csv`` current as jobs finish.

    The float model of each seed is pre-trained once, by a job the seed's points wait for.
    ``workers`` jobs run at once (default: as many as the session has CPUs / ``threads``), each
    with ``threads`` torch threads; ``address`` joins an existing Ray cluster (the data and
    ``out`` must then be on a file system every node sees). A failed point is reported and the
    others go on; finished points are kept, so running the same command again resumes."""
    from ecqx import cluster

    out = Path(out)
    (out / "runs").mkdir(parents=True, exist_ok=True)
    cfgs = {}
    for pt in points:
        cfgs[pt] = replace(base, method=pt.method, bits=pt.bits, lam=pt.lam, p=pt.p, seed=pt.seed)
        cfgs[pt].validate()
    todo = [pt for pt in points if not (
        finished(out / "runs" / pt.name, cfgs[pt]) and (out / "runs" / pt.name / SIZE).is_file()
    )]  # fmt: skip
    for pt in points:
        if pt not in todo:
            log(f"{pt.name}: done before, kept")
    jobs = []
    for seed in sorted({pt.seed for pt in todo}):
        # any point of the seed gives the pre-training settings: the grid never changes them
        cfg = cfgs[next(pt for pt in todo if pt.seed == seed)]
        args = (Path(data_dir), cfg, fp_cache(out, seed), threads, device)
        jobs.append(cluster.Job(("fp", seed), pretrain_job, args))
    for pt in todo:
        args = (Path(data_dir), out / "runs" / pt.name, cfgs[pt], fp_cache(out, pt.seed),
                threads, device)  # fmt: skip
        jobs.append(cluster.Job(pt, point_job, args, after=("fp", pt.seed)))
    failed: dict[str, str] = {}
    if todo:
        cpus = (workers or cluster.local_cpus()) * threads if address is None else None
        log(f"{len(todo)} of {len(points)} points to train ({len(jobs) - len(todo)} float "
            f"pre-training job(s)) on Ray{' at ' + address if address else ''}")  # fmt: skip
        with cluster.session(address, cpus) as ray:
            in_flight = workers or max(1, int(ray.cluster_resources().get("CPU", 1)) // threads)
            gpus = 0.0 if device == "cpu" else ray.cluster_resources().get("GPU", 0.0)
            if device == "cuda" and not gpus:
                raise cluster.ClusterError("--device cuda: the Ray session has no GPU")
            # the jobs in flight share the GPUs; Ray hides GPUs from jobs that reserve none
            gpus_per_job = gpus / in_flight
            bar = tqdm(total=len(todo), desc="sweep", unit="run", disable=not progress)
            for done in cluster.run_jobs(jobs, in_flight, threads, gpus_per_job):
                if isinstance(done.key, tuple):
                    what = f"float model, seed {done.key[1]}"
                    if done.error is None:
                        log(f"{what}: ready ({done.result:.0f} s)")
                else:
                    what = done.key.name
                    bar.update(1)
                if done.error is not None:
                    failed[what] = f"{type(done.error).__name__}: {done.error}"
                    log(f"{what}: FAILED - {failed[what]}")
                    continue
                if isinstance(done.key, Point):
                    r = row(out / "runs" / done.key.name)
                    log(
                        f"{what}: {done.result['seconds']:.0f} s, sparsity "
                        f"{percent(r['sparsity'])}, top-1 {percent(r['top1_quantized'])} "
                        f"(integer {percent(r['top1_integer'])}), NNC {r['nnc_bytes']} B"
                    )
                    write_table(out)
            bar.close()
    return SweepResult(rows=write_table(out), failed=failed)

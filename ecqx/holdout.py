"""Leave one engine family out: how well a model trained on some speech synthesizers
recognizes words spoken by a synthesizer it never heard.

For each family F of a synthesized stand-in, train (float pre-training, then ECQ/ECQx) on the
speakers of all other families, exactly as ``ecqx train`` does, and evaluate on every clip of
F's speakers (all splits: none of them was trained on; silence rows left out, since they hold
no voice). Reports per held-out family the float and quantized top-1 on F and in-domain (the
other families' test split). Resumable: a finished family's run is reused."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ecqx.checkpoint import Checkpoint, load_tree
from ecqx.config import TrainConfig
from ecqx.data.audio import DataError
from ecqx.data.features import params_for
from ecqx.data.gsc import LABELS, SILENCE, SPLITS, GSCData
from ecqx.data.synth import speaker_families
from ecqx.data.voices import FAMILIES
from ecqx.files import write_text
from ecqx.model.predict import predict
from ecqx.report import FLOAT, QUANTIZED, percent
from ecqx.run import RunDir
from ecqx.train import finished, train

RESULTS = "holdout.csv"
TABLE = "holdout.md"
COLUMNS = ("held_out", "trained_on", "held_out_clips", f"held_out_{FLOAT}",
           f"held_out_{QUANTIZED}", f"in_domain_{FLOAT}", f"in_domain_{QUANTIZED}")  # fmt: skip


def held_out_set(data: GSCData) -> tuple[np.ndarray, np.ndarray]:
    """Every clip of ``data`` (all splits) except the silence rows."""
    feats = np.concatenate([data.features(s) for s in SPLITS])
    labels = np.concatenate([data.labels(s) for s in SPLITS])
    voiced = labels != LABELS.index(SILENCE)
    return feats[voiced], labels[voiced]


def evaluate(run: Path, held: GSCData) -> dict:
    """Float and quantized top-1 of the run in ``run`` on the held-out family's clips."""
    ck = Checkpoint.load(run)
    fp = load_tree(RunDir(run).fp_cache, "pre-trained model cache")
    feats, labels = held_out_set(held)
    return {
        "held_out_clips": int(len(labels)),
        f"held_out_{FLOAT}": float((predict(ck, feats, fp["state"]) == labels).mean()),
        f"held_out_{QUANTIZED}": float((predict(ck, feats) == labels).mean()),
    }


def holdout(
    data: Path,
    out: Path,
    cfg: TrainConfig,
    families: list[str] | None = None,
    progress: bool = True,
    log: Callable[[str], object] = print,
    device: str = "cpu",
) -> list[dict]:
    """One row per held-out family (``families``: those to hold out, default every family
    present in ``data``); writes holdout.csv and holdout.md into ``out``."""
    out = Path(out)
    present = [f for f in FAMILIES if f in set(speaker_families(data).values())]
    if len(present) < 2:
        raise DataError(f"{data} has the families {present}; leaving one out needs two")
    params = params_for(cfg)
    rows = []
    for fam in families or present:
        if fam not in present:
            raise DataError(f"{data} has no {fam} speakers (it has {', '.join(present)})")
        others = tuple(f for f in present if f != fam)
        run = out / f"without-{fam}"
        log(f"held out: {fam}; training on {' + '.join(others)} -> {run}")
        if finished(run, cfg):
            m = json.loads(RunDir(run).metrics.read_text())
        else:
            trained_on = GSCData(data, params, families=others, progress=progress)
            m = train(trained_on, run, cfg, progress, device=device)
        row = {"held_out": fam, "trained_on": "+".join(others)}
        row |= evaluate(run, GSCData(data, params, families=(fam,), progress=progress))
        row |= {f"in_domain_{FLOAT}": m["top1_float"]["testing"],
                f"in_domain_{QUANTIZED}": m["top1_quantized"]["testing"]}  # fmt: skip
        rows.append(row)
        write_results(rows, out)
        log(table(rows[-1:]))
    return rows


def write_results(rows: list[dict], out: Path) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS)
    w.writeheader()
    w.writerows(rows)
    write_text(out / RESULTS, buf.getvalue())
    write_text(out / TABLE, table(rows) + "\n")


def table(rows: list[dict]) -> str:
    """Markdown: held-out family x (float, quantized) top-1, and in-domain top-1."""
    lines = [
        "| held out | trained on | clips | held-out float | held-out quantized | "
        "in-domain float | in-domain quantized |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['held_out']} | {r['trained_on']} | {r['held_out_clips']} | "
            f"{percent(r[f'held_out_{FLOAT}'])} | {percent(r[f'held_out_{QUANTIZED}'])} | "
            f"{percent(r[f'in_domain_{FLOAT}'])} | {percent(r[f'in_domain_{QUANTIZED}'])} |"
        )
    return "\n".join(lines)

"""Float pre-training recipe ablation for MLP_GSC: top-1 per split and per engine family.

Each variant is a set of TrainConfig fields (``--variant name:field=value,...``) trained with
the project's own float loop (``ecqx.train.pretrain``: the same augmentation, SGD and schedule
as `ecqx train`), one run per seed; the table gives mean and sample std over the seeds.
``--holdout FAMILY`` trains without that engine family's speakers and adds its top-1 over all
of its clips (what `ecqx holdout` reports for the float model). ``--extra-data DIR``: a second
stand-in (another seed) whose training speakers join the training set, to measure what more
speakers give.

    python benchmarks/float_recipe.py --data runs/gsc --seeds 0,1,2 \
        --variant old:cmn=False,fp_epochs=30,fp_lr=0.01,weight_decay=5e-4,aug_epochs=0 \
        --variant new:

Writes the rows as JSON lines (``--out``, appended: a table is built from every row there).
"""

from __future__ import annotations

import argparse
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ecqx.config import TrainConfig
from ecqx.data.features import params_for
from ecqx.data.gsc import SPLITS, GSCData
from ecqx.data.synth import speaker_families
from ecqx.data.voices import FAMILIES
from ecqx.model.mlp_gsc import mlp_gsc
from ecqx.train import augmented_features, fit_float, normalize, seed_everything


def parse_variant(text: str) -> tuple[str, dict]:
    """``name:field=value,...`` -> (name, fields), values parsed as JSON where they can be."""
    name, _, rest = text.partition(":")
    fields = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        try:
            fields[key] = json.loads(value.lower() if value in ("True", "False") else value)
        except json.JSONDecodeError:
            fields[key] = value
    return name, fields


def families_of(data: GSCData, split: str) -> np.ndarray:
    family = speaker_families(data.root)
    names = data.splits[split].names
    return np.array([family.get(Path(n).name.split("_nohash_")[0], "") for n in names])


def run(data: GSCData, extra: GSCData | None, cfg: TrainConfig, holdout: str | None) -> dict:
    """Train one float model; its top-1 on every split, per family, and on the held-out one."""
    seed_everything(cfg.seed)
    parts = [data] + ([extra] if extra else [])
    keep = [families_of(d, "training") != holdout for d in parts]
    feats = [d.features("training")[k] for d, k in zip(parts, keep)]
    x0 = np.concatenate(feats)
    norm = (x0.mean(0), x0.std(0) + 1e-6)
    y = torch.from_numpy(np.concatenate([d.labels("training")[k] for d, k in zip(parts, keep)]))

    def epoch_inputs(epoch: int) -> torch.Tensor:
        xs = [augmented_features(d, cfg, epoch)[m] for d, m in zip(parts, keep)]
        return normalize(np.concatenate(xs), norm)

    model = mlp_gsc(in_features=data.params.size)
    fit_float(model, cfg, epoch_inputs, y, progress=False)
    model.eval()

    def top1(x: np.ndarray, labels: np.ndarray) -> float:
        with torch.no_grad():
            pred = model(normalize(x, norm)).argmax(1).numpy()
        return float((pred == labels).mean()) if len(labels) else float("nan")

    row = {"holdout": holdout}
    for split in SPLITS:
        x, labels, fam = data.features(split), data.labels(split), families_of(data, split)
        inside = fam != holdout
        row[split] = top1(x[inside], labels[inside])
        for f in FAMILIES:
            if f != holdout:
                row[f"{split}/{f}"] = top1(x[fam == f], labels[fam == f])
    if holdout:
        fam = {s: families_of(data, s) == holdout for s in SPLITS}
        x = np.concatenate([data.features(s)[fam[s]] for s in SPLITS])
        labels = np.concatenate([data.labels(s)[fam[s]] for s in SPLITS])
        row["held_out"] = top1(x, labels)
    return row


def table(rows: list[dict]) -> str:
    keys = ["training", "validation", "testing", "held_out"]
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["variant"], r["holdout"] or "-"), []).append(r)
    lines = ["| variant | held out | seeds | " + " | ".join(keys) + " |",
             "|---|---|---|" + "---|" * len(keys)]  # fmt: skip
    for (name, held), rs in groups.items():
        cells = []
        for k in keys:
            v = np.array([r[k] for r in rs if k in r], float) * 100
            cells.append("" if not len(v) else f"{v.mean():.1f}" + (
                f" +- {v.std(ddof=1):.1f}" if len(v) > 1 else ""))  # fmt: skip
        lines.append(f"| {name} | {held} | {len(rs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="the stand-in (or Speech Commands) folder")
    ap.add_argument("--extra-data", help="another stand-in whose training speakers join")
    ap.add_argument(
        "--variant",
        action="append",
        required=True,
        type=parse_variant,
        help="name:field=value,... (TrainConfig fields; empty = the defaults)",
    )
    ap.add_argument("--seeds", default="0", help="comma-separated seeds (default 0)")
    ap.add_argument("--holdout", default="", help="comma-separated engine families to hold out")
    ap.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    ap.add_argument("--out", default="float_recipe.jsonl", help="JSON lines, appended")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    for name, fields in args.variant:
        cfg0 = replace(TrainConfig(), epochs=0, **fields)
        cfg0.validate()
        data = GSCData(Path(args.data), params=params_for(cfg0), progress=False)
        extra = GSCData(Path(args.extra_data), params=params_for(cfg0), progress=False) \
            if args.extra_data else None  # fmt: skip
        for held in args.holdout.split(",") if args.holdout else [None]:
            for seed in map(int, args.seeds.split(",")):
                row = run(data, extra, replace(cfg0, seed=seed), held)
                row |= {"variant": name, "seed": seed, "fields": fields}
                print(json.dumps(row), flush=True)
                with out.open("a") as f:
                    f.write(json.dumps(row) + "\n")
    print(table([json.loads(line) for line in out.read_text().splitlines()]))


if __name__ == "__main__":
    main()

"""``ecqx share``: k-means weight sharing against ECQ's uniform grid at equal centroid counts,
on a run's full-precision model (post-training, no fine-tuning for either): test top-1 with
every layer's weights replaced, and the NNC (DeepCABAC) bytes of the indices plus the
codebook (k float32 per layer for k-means, one step per layer for the uniform grid). Biases
stay float and are left out of both sizes."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import torch

from ecqx import checkpoint
from ecqx.checkpoint import Checkpoint
from ecqx.config import TrainConfig, with_legacy
from ecqx.errors import EcqxError
from ecqx.export.nnr import encode_tensors
from ecqx.files import output_folder, write_text
from ecqx.prune import load_task
from ecqx.quantizer.kmeans import kmeans_share, shared_weights, uniform_share
from ecqx.quantizer.qat import quantizable_layers
from ecqx.run import RunDir
from ecqx.train import accuracy, torch_device

COLUMNS = ("bits", "centroids", "method", "top1", "nnc_bytes", "zero_share")


def float_state(model_dir: Path) -> dict:
    path = RunDir(model_dir).fp_cache
    if not path.is_file():
        raise EcqxError(
            f"{path}: no pre-trained float model in this run folder; pass the --out "
            "folder of `ecqx train` (a sweep keeps it as fp-s<seed>.npz)"
        )
    return checkpoint.load_tree(path, "pre-trained model cache")["state"]


def compare(model_dir: Path, bits: list[int], seed: int = 0, device: str = "cpu") -> list[dict]:
    ck = Checkpoint.load(model_dir)
    names = set(TrainConfig.__dataclass_fields__)
    cfg = TrainConfig(**{k: v for k, v in with_legacy(ck.config).items() if k in names})
    dev = torch_device(device)
    task = load_task(ck, cfg, dev)
    task.model.load_state_dict(
        {k: torch.from_numpy(np.asarray(v)) for k, v in float_state(model_dir).items()}
    )
    layers = quantizable_layers(task.model)
    original = [m.weight.detach().cpu().numpy().copy() for _, m in layers]
    rows = [
        {
            "bits": 32,
            "centroids": 0,
            "method": "float",
            "top1": accuracy(task.model, *task.evals["testing"]),
            "nnc_bytes": 0,
            "zero_share": float(np.mean(np.concatenate([w.ravel() for w in original]) == 0)),
        }
    ]
    for b in bits:
        k = 2**b - 1  # the signed uniform grid's centroids: -(2^(b-1)-1) .. 2^(b-1)-1
        for method in ("uniform", "kmeans"):
            tensors, new, side = {}, [], 0
            for i, w in enumerate(original):
                if method == "uniform":
                    step, idx = uniform_share(w, b)
                    new.append(idx * step)
                    side += 4
                else:
                    centroids, idx = kmeans_share(w, k, seed)
                    new.append(shared_weights(centroids, idx))
                    side += 4 * len(centroids)
                tensors[f"l{i}.weight"] = idx.astype(np.int32)
            with torch.no_grad():
                for (_, m), w in zip(layers, new, strict=True):
                    m.weight.copy_(torch.from_numpy(np.asarray(w, np.float32)))
            zero = np.mean(np.concatenate([t.ravel() for t in tensors.values()]) == 0)
            rows.append(
                {
                    "bits": b,
                    "centroids": k,
                    "method": method,
                    "top1": accuracy(task.model, *task.evals["testing"]),
                    "nnc_bytes": len(encode_tensors(tensors)) + side,
                    "zero_share": float(zero),
                }
            )
    with torch.no_grad():
        for (_, m), w in zip(layers, original, strict=True):
            m.weight.copy_(torch.from_numpy(w))
    return rows


def write(rows: list[dict], out: Path) -> Path:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return write_text(output_folder(Path(out)) / "weight_sharing.csv", buf.getvalue())


def table(rows: list[dict]) -> str:
    from ecqx.report import percent

    lines = [
        f"{'bits':>4s} {'centroids':>9s} {'method':8s} {'top-1':>6s} {'NNC bytes':>10s} "
        f"{'index 0':>7s}"
    ]
    for r in rows:
        lines.append(
            f"{r['bits']:4d} {r['centroids']:9d} {r['method']:8s} "
            f"{percent(r['top1']):>6s} {r['nnc_bytes']:10,d} "
            f"{percent(r['zero_share']):>7s}"
        )
    return "\n".join(lines)

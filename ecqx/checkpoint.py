"""A run's checkpoint as a typed object, stored in a format that needs no pickle to read.

A checkpoint is written by ``ecqx train`` and read by export, HIL and the sweep plots. It is a
``.npz`` archive (numpy's zip of ``.npy`` arrays): every array of the run (float parameters,
quantizer codes, shadow weights, relevance) is one member, and everything else (architecture,
labels, MFCC parameters, configuration, metrics) is one JSON member that refers to the arrays
by name. ``np.load(allow_pickle=False)`` reads it, so a crafted file can be wrong but cannot
run code, and any numpy (or a C program with an npy reader) can inspect it without torch.

The same tree codec stores the cached pre-trained model (``fp.npz``). Torch tensors are
accepted on save (converted with ``.numpy()``) and come back as numpy arrays; callers that need
tensors convert them (``torch.from_numpy``). Torch-free, so export and HIL never import the
training stack to read a run."""

from __future__ import annotations

import json
import math
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ecqx import __version__
from ecqx.config import CHECKPOINT_FORMAT, CHECKPOINT_VERSION
from ecqx.errors import EcqxError
from ecqx.files import atomic_write
from ecqx.run import RunDir

META = "__meta__"  # the archive member holding the JSON part
ARRAY = "$array"  # {"$array": name}: a reference from the JSON part to an array member


class CheckpointError(EcqxError, ValueError):
    """A checkpoint that cannot be read or is not usable; the message says what to do."""


def _encode(node: object, arrays: dict[str, np.ndarray]) -> object:
    if hasattr(node, "detach"):  # a torch tensor, converted without importing torch
        node = node.detach().cpu().numpy()
    if isinstance(node, np.ndarray):
        name = f"a{len(arrays)}"
        arrays[name] = node
        return {ARRAY: name}
    if isinstance(node, dict):
        if not all(isinstance(k, str) for k in node):
            raise TypeError(f"checkpoint dict keys must be strings, got {list(node)[:3]}")
        return {k: _encode(v, arrays) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [_encode(v, arrays) for v in node]
    if isinstance(node, np.generic):
        return node.item()
    if node is None or isinstance(node, bool | int | str):
        return node
    if isinstance(node, float):
        # JSON has no NaN/inf; the loader turns these markers back into floats
        return node if math.isfinite(node) else {"$float": repr(node)}
    raise TypeError(f"cannot store a {type(node).__name__} in a checkpoint")


def _decode(node: object, arrays: dict[str, np.ndarray]) -> object:
    if isinstance(node, dict):
        if set(node) == {ARRAY}:
            return arrays[node[ARRAY]]
        if set(node) == {"$float"}:
            return float(node["$float"])
        return {k: _decode(v, arrays) for k, v in node.items()}
    if isinstance(node, list):
        return [_decode(v, arrays) for v in node]
    return node


def save_tree(tree: dict, path: Path) -> Path:
    """Write a tree of dicts, lists, numbers, strings and arrays atomically as ``.npz``."""
    arrays: dict[str, np.ndarray] = {}
    meta = json.dumps(_encode(tree, arrays)).encode()
    members = {**arrays, META: np.frombuffer(meta, np.uint8)}
    return atomic_write(Path(path), lambda f: np.savez(f, **members))


def load_tree(path: Path, what: str = "checkpoint") -> dict:
    """The tree in ``path``; every failure is one ``CheckpointError`` naming file and cure."""
    path = Path(path)
    redo = "re-run `ecqx train` into that folder"
    if path.is_file() and not zipfile.is_zipfile(path):
        # np.load would take any other file for a pickle; it is simply not an archive
        raise CheckpointError(
            f"{path}: cannot read the {what}: it is truncated or corrupt (not a numpy .npz "
            f"archive); {redo}"
        )
    try:
        with np.load(path, allow_pickle=False) as z:
            members = {k: z[k] for k in z.files}
        meta = json.loads(members.pop(META).tobytes().decode())
        tree = _decode(meta, members)
    except KeyError as e:
        raise CheckpointError(f"{path}: not an ecqx {what} (it has no {META}); {redo}") from e
    except ValueError as e:
        # numpy: "Object arrays cannot be loaded when allow_pickle=False"
        if "pickle" in str(e):
            raise CheckpointError(
                f"{path}: refused to load this {what}: it holds pickled Python objects, which "
                f"could run code when loaded. ecqx never writes such files; {redo}"
            ) from e
        raise CheckpointError(f"{path}: cannot read the {what} ({e}); {redo}") from e
    except (OSError, EOFError, zipfile.BadZipFile, UnicodeDecodeError) as e:
        raise CheckpointError(
            f"{path}: cannot read the {what} ({type(e).__name__}: {e}); it is truncated or "
            f"corrupt: {redo}"
        ) from e
    if not isinstance(tree, dict):
        raise CheckpointError(f"{path}: not an ecqx {what}; {redo}")
    return tree


@dataclass
class Checkpoint:
    """Everything later stages read from a trained run.

    ``state`` holds the float model's parameters (after QAT each weight is exactly
    ``codes * step`` of its quantizer layer); ``quantizer`` holds bits, lambda, p, criterion
    and per layer its grid, codes, shadow weights, relevance and beta."""

    architecture: dict  # name, in_features, num_classes
    labels: list[str]
    mfcc: dict
    input_mean: np.ndarray
    input_std: np.ndarray
    config: dict
    state: dict[str, np.ndarray]
    quantizer: dict
    metrics: dict
    ecqx_version: str = __version__

    @property
    def data_root(self) -> Path:
        """The dataset folder the model was trained on (absolute)."""
        return Path(self.metrics["data"]["root"])

    def save(self, path: Path) -> Path:
        tree = asdict(self) | {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION}
        return save_tree(tree, path)

    @classmethod
    def load(cls, model: Path) -> Checkpoint:
        """The checkpoint in ``model`` (a training folder or the file itself), checked for
        every entry the later stages read."""
        path = checkpoint_file(model)
        tree = load_tree(path)
        redo = "it was not written by this ecqx's `ecqx train` or was edited: re-train it"
        if tree.get("format") != CHECKPOINT_FORMAT:
            raise CheckpointError(f"{path}: not an ecqx checkpoint (written by `ecqx train`)")
        if tree.get("version") != CHECKPOINT_VERSION:
            raise CheckpointError(
                f"{path}: checkpoint version {tree.get('version')!r}, this ecqx reads "
                f"{CHECKPOINT_VERSION}; re-train it with this version"
            )
        names = [f.name for f in cls.__dataclass_fields__.values()]
        missing = [n for n in names if n not in tree and n != "ecqx_version"]
        if missing:
            raise CheckpointError(f"{path}: the checkpoint lacks {', '.join(missing)}; {redo}")
        if not isinstance(tree["metrics"], dict) or "root" not in tree["metrics"].get("data", {}):
            raise CheckpointError(f"{path}: the checkpoint lacks metrics/data/root; {redo}")
        if not isinstance(tree["state"], dict) or not isinstance(tree["quantizer"], dict):
            raise CheckpointError(f"{path}: the checkpoint's state or quantizer is damaged; {redo}")
        ck = cls(**{n: tree[n] for n in names if n in tree})
        ck.input_mean = np.asarray(ck.input_mean, np.float32)
        ck.input_std = np.asarray(ck.input_std, np.float32)
        return ck


def checkpoint_file(model: Path) -> Path:
    """``--model`` may name the training folder or the checkpoint inside it."""
    model = Path(model)
    run = RunDir(model)
    path = run.checkpoint if model.is_dir() else model
    if path.is_file():
        return path
    if model.is_dir() and run.legacy_checkpoint.is_file():
        raise CheckpointError(
            f"{run.legacy_checkpoint}: a checkpoint of an older ecqx (PyTorch pickle format, "
            f"no longer read); re-train with `ecqx train --out {model}`"
        )
    raise CheckpointError(
        f"{path}: no checkpoint here; pass the --out folder of `ecqx train` as --model"
    )

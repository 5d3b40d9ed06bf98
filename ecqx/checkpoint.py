"""Reading and writing the PyTorch files of a run (``model.pt``, ``fp.pt``) safely.

``torch.load`` with ``weights_only=False`` unpickles arbitrary objects, so a crafted file runs
code as the user. Every load here uses ``weights_only=True`` (tensors, numbers, strings, lists
and dicts only; what ecqx writes) and turns every failure into one ``CheckpointError`` that
says what is wrong with which file and what to do."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path

import torch

from ecqx.errors import EcqxError
from ecqx.files import atomic_write


class CheckpointError(EcqxError, ValueError):
    """A checkpoint that cannot or must not be read; the message says what to do."""


def save(obj: dict, path: Path) -> Path:
    """``torch.save`` atomically: an interrupted run never leaves a truncated file."""
    return atomic_write(path, lambda f: torch.save(obj, f))


def load(path: Path, what: str = "checkpoint") -> dict:
    """The dict in ``path``, loaded without executing anything from the file."""
    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        # the safe unpickler names the global (a class or function) it refused to import
        if "global" in str(e).lower():
            raise CheckpointError(
                f"{path}: refused to load this {what}: it holds Python objects other than "
                "tensors, numbers, strings, lists and dicts, which could run code when "
                "loaded. ecqx never writes such files; re-create it with `ecqx train`"
            ) from e
        raise CheckpointError(
            f"{path}: cannot read the {what}: it is truncated or corrupt (not a PyTorch file "
            "of tensors and plain data); re-run `ecqx train` into that folder"
        ) from e
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, KeyError) as e:
        raise CheckpointError(
            f"{path}: cannot read the {what} ({type(e).__name__}: {e}); it is truncated or "
            "corrupt: re-run `ecqx train` into that folder"
        ) from e
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: not an ecqx {what} (written by `ecqx train`)")
    return obj

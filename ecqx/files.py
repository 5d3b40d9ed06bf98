"""Result files and folders: written so that an interrupted run (Ctrl-C, a full disk, a killed
job) never leaves a truncated file behind (a temporary file beside the target, then renamed
over it: atomic on POSIX file systems), output folders checked before any work starts, and a
lock so that two runs never write into one folder at once."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from ecqx.errors import EcqxError


def atomic_write(path: Path, write: Callable[[BinaryIO], object]) -> Path:
    """Call ``write(f)`` on a temporary file beside ``path``, then move it into place."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_json(path: Path, obj: object) -> Path:
    """``obj`` as indented JSON, atomically."""
    data = json.dumps(obj, indent=1).encode()
    return atomic_write(path, lambda f: f.write(data))


def write_text(path: Path, text: str) -> Path:
    data = text.encode()
    return atomic_write(path, lambda f: f.write(data))


class OutputError(EcqxError, ValueError):
    """An output folder that cannot be used: a file, unwritable, or busy with another run."""


def output_folder(path: Path) -> Path:
    """Create ``path`` (and parents) as a folder for results, or say why it cannot be."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{path} is a file, not a folder; pass another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the output folder {path}: {e.strerror}") from e
    if not os.access(path, os.W_OK | os.X_OK):
        raise OutputError(f"the output folder {path} is not writable; pass another --out")
    return path


@contextmanager
def exclusive(folder: Path, what: str) -> Iterator[Path]:
    """Hold a lock on ``folder`` while a command writes into it, so two runs never mix their
    files; a second run fails at once and says so."""
    folder = output_folder(folder)
    with open(folder / ".ecqx.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as e:
            raise OutputError(
                f"another {what} is writing into {folder}; wait for it or pass another --out"
            ) from e
        try:
            yield folder
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)

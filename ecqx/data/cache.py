"""The dataset's derived-array cache (decoded audio, fixed MFCCs) under ``.ecqx-cache``.

Entries are written atomically, so an interrupted first load (Ctrl-C) leaves no half-written
file, and an entry that cannot be read (a crash of an older version, a full disk, an edited
file) is rebuilt instead of breaking every later command."""

from __future__ import annotations

import logging
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ecqx.files import atomic_write

log = logging.getLogger(__name__)


def cached(path: Path, build: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The arrays stored in ``path``, else ``build()``'s, stored there for next time."""
    path = Path(path)
    if path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
            log.warning("cache entry %s is unreadable (%s); rebuilding it", path, e)
    arrays = build()
    atomic_write(path, lambda f: np.savez(f, **arrays))
    return arrays

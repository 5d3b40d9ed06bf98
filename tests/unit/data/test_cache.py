"""The feature cache: an unreadable entry is rebuilt, never trusted."""

import numpy as np
from helpers import copy_dataset

from ecqx.data.gsc import GSCData


def test_an_unreadable_cache_entry_is_rebuilt(tiny_gsc, tmp_path, caplog):
    """Ctrl-C in an older version's first load left half-written cache files; now they are
    written atomically, and one that cannot be read is rebuilt with a notice."""
    root = tmp_path / "c"
    copy_dataset(tiny_gsc, root)
    first = GSCData(root, progress=False).features("testing")
    entries = sorted((root / ".ecqx-cache").glob("*.npz"))
    assert entries and not list((root / ".ecqx-cache").glob("*tmp*"))
    for e in entries:
        e.write_bytes(e.read_bytes()[: e.stat().st_size // 3])
    again = GSCData(root, progress=False).features("testing")
    assert np.array_equal(first, again)
    assert "rebuilding" in caplog.text

"""A small evaluation subset that still describes every class: a deterministic, class-stratified
choice of samples (the test split is stored sorted by class, so its first N clips are one word)."""

from __future__ import annotations

import numpy as np


def stratified(labels: np.ndarray, n: int | None, seed: int = 0) -> np.ndarray:
    """Indices (ascending) of ``n`` samples dealt round-robin over the classes, each class in
    a fixed shuffled order, so every class gets ``n // classes`` or one more while it lasts.
    ``None`` or ``n >= len(labels)`` selects everything."""
    labels = np.asarray(labels)
    if n is None or n >= len(labels):
        return np.arange(len(labels))
    if n < 1:
        raise ValueError(f"a subset needs at least 1 sample, got {n}")
    rng = np.random.default_rng(seed)
    queues = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    picked: list[int] = []
    depth = 0
    while len(picked) < n:
        for q in queues:
            if depth < len(q) and len(picked) < n:
                picked.append(int(q[depth]))
        depth += 1
    return np.sort(np.array(picked, dtype=np.int64))

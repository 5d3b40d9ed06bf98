"""Weight sharing by k-means (pure functions): the non-uniform counterpart of ECQ's uniform
grid, as in the companion paper and Deep Compression. Each layer's weights are clustered in
1-D into ``k`` centroids (scikit-learn's KMeans, k-means++ initialization, seeded); a weight
is replaced by its centroid. For entropy coding the cluster indices are renumbered by centroid
value with the centroid nearest zero as index 0, so that a zero-peaked weight distribution
gives zero-peaked indices, as the uniform grid's codes are. The uniform counterpart at the
same number of centroids is ECQ's grid with nearest-centroid assignment (lambda 0)."""

from __future__ import annotations

import numpy as np


def kmeans_share(w: np.ndarray, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(centroids ascending [k'], indices int [w.shape] renumbered so that the centroid
    nearest zero is 0). k' < k when the layer has fewer distinct values."""
    from sklearn.cluster import KMeans

    flat = np.asarray(w, np.float64).reshape(-1, 1)
    k = min(k, len(np.unique(flat)))
    km = KMeans(n_clusters=k, n_init=1, random_state=seed).fit(flat)
    order = np.argsort(km.cluster_centers_[:, 0])
    centroids = km.cluster_centers_[order, 0]
    rank = np.empty(k, np.int64)
    rank[order] = np.arange(k)
    indices = rank[km.labels_] - int(np.argmin(np.abs(centroids)))
    return centroids, indices.reshape(np.shape(w))


def shared_weights(centroids: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """The weights the indices stand for."""
    zero = int(np.argmin(np.abs(centroids)))
    return centroids[indices + zero]


def uniform_share(w: np.ndarray, bits: int) -> tuple[float, np.ndarray]:
    """(step, codes) of ECQ's uniform b-bit grid for ``w``, nearest centroid (lambda 0)."""
    import torch

    from ecqx.quantizer.grid import make_grid

    t = torch.from_numpy(np.asarray(w, np.float32))
    g = make_grid(t, bits)
    codes = torch.clamp(torch.round(t / g.step), g.lo, g.hi).to(torch.int64)
    return g.step, codes.numpy()

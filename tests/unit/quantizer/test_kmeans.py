"""k-means weight sharing against the uniform grid."""

import numpy as np

from ecqx.quantizer.kmeans import kmeans_share, shared_weights, uniform_share


def test_kmeans_fits_gaussian_weights_better_than_the_uniform_grid():
    w = np.random.default_rng(0).normal(0, 0.05, (64, 128)).astype(np.float32)
    for bits in (2, 3, 4):
        k = 2**bits - 1
        centroids, idx = kmeans_share(w, k, seed=0)
        assert len(centroids) == k and np.all(np.diff(centroids) > 0)
        assert idx.shape == w.shape
        assert np.argmin(np.abs(centroids)) == 0 - idx.min()  # index 0 = centroid nearest 0
        step, codes = uniform_share(w, bits)
        mse_k = np.mean((shared_weights(centroids, idx) - w) ** 2)
        mse_u = np.mean((codes * step - w) ** 2)
        # at 2 bits the uniform (ternary) step is itself chosen for the least squared error
        assert mse_k < mse_u if bits > 2 else mse_k <= 1.001 * mse_u
    again = kmeans_share(w, 7, seed=0)
    assert np.array_equal(again[1], kmeans_share(w, 7, seed=0)[1])  # seeded


def test_fewer_distinct_values_than_clusters():
    w = np.array([0.0, 0.0, 0.5, 0.5, -0.5])
    centroids, idx = kmeans_share(w, 15)
    assert np.allclose(centroids, [-0.5, 0.0, 0.5]) and idx.tolist() == [0, 0, 1, 1, -1]

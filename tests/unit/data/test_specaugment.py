"""SpecAugment masks whole frames and whole coefficients, deterministically."""

import numpy as np

from ecqx.data.specaugment import MAX_COEFFS, MAX_FRAMES, spec_mask


def test_masks_are_whole_frames_and_coefficients():
    frames, coeffs = 49, 15
    x = np.random.default_rng(0).normal(1, 1, (200, frames * coeffs)).astype(np.float32)
    y = spec_mask(x, 2, np.random.default_rng(1), frames, coeffs)
    assert y.dtype == x.dtype and y.shape == x.shape
    assert np.array_equal(y, spec_mask(x, 2, np.random.default_rng(1), frames, coeffs))
    assert np.array_equal(spec_mask(x, 0, np.random.default_rng(1), frames, coeffs), x)
    grid = y.reshape(200, frames, coeffs) == 0
    zero_frames = grid.all(axis=2)
    zero_coeffs = grid.all(axis=1)
    assert zero_frames.sum(1).max() <= 2 * MAX_FRAMES and zero_coeffs.sum(1).max() <= 2 * MAX_COEFFS
    assert zero_frames.any(1).mean() > 0.5 and zero_coeffs.any(1).mean() > 0.5
    # every zero lies in a masked frame or a masked coefficient
    assert not (grid & ~zero_frames[:, :, None] & ~zero_coeffs[:, None, :]).any()
    kept = ~grid
    assert np.array_equal(
        y.reshape(200, frames, coeffs)[kept], x.reshape(200, frames, coeffs)[kept]
    )

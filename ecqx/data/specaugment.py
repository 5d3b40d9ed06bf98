"""SpecAugment-style masking of MFCC features for training (Park et al. 2019): whole frames
(time masks) and whole cepstral coefficients (the MFCC's frequency axis) set to the training
mean. A few lines of numpy on the already-normalized features; the audio libraries mask
spectrograms, not a flat frame-major MFCC vector, so it is written here."""

from __future__ import annotations

import numpy as np

MAX_FRAMES, MAX_COEFFS = 6, 3  # widest time mask (of 49 frames) and coefficient mask (of 15)


def spec_mask(
    x: np.ndarray, masks: int, rng: np.random.Generator, frames: int, coeffs: int
) -> np.ndarray:
    """``x`` [N, frames * coeffs] (normalized, frame-major) with ``masks`` time masks of
    0..MAX_FRAMES frames and ``masks`` coefficient masks of 0..MAX_COEFFS coefficients per
    example set to 0; a new array."""
    if masks == 0:
        return x
    n = len(x)
    keep_t = np.ones((n, frames), bool)
    keep_c = np.ones((n, coeffs), bool)
    t_idx, c_idx = np.arange(frames), np.arange(coeffs)
    for _ in range(masks):
        w = rng.integers(0, MAX_FRAMES + 1, (n, 1))
        t0 = rng.integers(0, frames - w + 1)
        keep_t &= ~((t_idx >= t0) & (t_idx < t0 + w))
        w = rng.integers(0, MAX_COEFFS + 1, (n, 1))
        c0 = rng.integers(0, coeffs - w + 1)
        keep_c &= ~((c_idx >= c0) & (c_idx < c0 + w))
    keep = (keep_t[:, :, None] & keep_c[:, None, :]).reshape(n, frames * coeffs)
    return np.where(keep, x, 0).astype(x.dtype)

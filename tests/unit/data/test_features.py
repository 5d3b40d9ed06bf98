"""The MFCC front end: shape, determinism, a pure tone's spectrum."""

import numpy as np
import pytest

from ecqx.data.features import MfccParams, mfcc


def test_mfcc_shape_determinism_and_tone():
    p = MfccParams()
    assert (p.frames, p.n_mfcc, p.size) == (49, 15, 735)
    t = np.arange(16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    noise = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    f = mfcc(np.stack([tone, noise]))
    assert f.shape == (2, 735) and f.dtype == np.float32
    # BLAS may pick different SIMD kernels per call (alignment), so equal up to float rounding
    np.testing.assert_allclose(f, mfcc(np.stack([tone, noise])), rtol=1e-5, atol=1e-4)
    # a steady tone gives (almost) the same coefficients in every frame
    frames = f[0].reshape(49, 15)
    assert np.abs(frames[1:-1] - frames[1]).max() < 1e-3
    assert not np.allclose(f[0], f[1])
    with pytest.raises(ValueError, match="16000 samples"):
        mfcc(np.zeros((1, 100)))


def test_cepstral_mean_normalization_removes_a_fixed_channel():
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    p = MfccParams(cmn=True, arithmetic="float")
    a = mfcc(x, p).reshape(p.frames, p.n_mfcc)
    assert np.allclose(a.mean(axis=0), 0, atol=1e-4)
    # a gain change is a constant on c0 and vanishes; the plain features move
    louder = mfcc(3 * x, p)
    assert np.allclose(louder, a.reshape(1, -1), atol=1e-3)
    assert not np.allclose(mfcc(3 * x), mfcc(x), atol=1e-1)


def test_fixed_point_cmn_removes_a_fixed_channel_too():
    """The integer mean normalization (frame means in Q10, rounded) leaves every coefficient's
    mean over the frames within half a Q10 step of 0, and a gain change vanishes up to the
    front end's rounding."""
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal(16000)).astype(np.float32)
    p = MfccParams(cmn=True, arithmetic="fixed")
    a = mfcc(x, p).reshape(p.frames, p.n_mfcc)
    assert np.abs(a.mean(axis=0)).max() <= 0.5 / 1024
    np.testing.assert_allclose(mfcc(x / 4, p), a.reshape(1, -1), atol=0.02)
    float_cmn = mfcc(x, MfccParams(cmn=True, arithmetic="float")).reshape(a.shape)
    np.testing.assert_allclose(a, float_cmn, atol=0.02)

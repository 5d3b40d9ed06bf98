"""The fixed-point MFCC: close to the float definition it approximates, exact integers, and
parameters it is not defined for refused. (Bit-exactness of the C front end against it:
tests/unit/codegen/test_frontend.py.)"""

import numpy as np
import pytest
from helpers import hard_clips

from ecqx.data.features import MfccParams, mfcc
from ecqx.data.fixed_mfcc import Q_OUT, frame_means, mfcc_fixed, tables, to_pcm16

FIXED, FLOAT = MfccParams(arithmetic="fixed"), MfccParams(arithmetic="float")


def speech_like(n=6, seed=1):
    """Chirps with harmonics and a noise floor at levels from -6 to -60 dB full scale."""
    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    out = []
    for i in range(n):
        f0 = rng.uniform(90, 250) * (1 + 0.3 * np.sin(2 * np.pi * t))
        phase = 2 * np.pi * np.cumsum(f0) / 16000
        x = sum(np.sin(k * phase) / k for k in range(1, 12)) * np.hanning(16000)
        x = 0.5 * x / np.abs(x).max() * 10 ** (-i * 54 / 20 / max(n - 1, 1))
        out.append(x + 3e-4 * rng.standard_normal(16000))
    return to_pcm16(np.array(out))


def test_fixed_point_equals_the_float_front_end_up_to_its_rounding():
    pcm = speech_like()
    fixed, flt = mfcc(pcm, FIXED), mfcc(pcm, FLOAT)
    err = np.abs(fixed - flt)
    # Q10 output, Q15 tables: a few thousandths, at every level down to -60 dBFS
    assert err.max() < 0.02, err.max()
    assert err.mean() < 2e-3, err.mean()
    # and not trivially: the features span tens of units
    assert np.abs(flt).max() > 10


def test_outputs_are_q10_integers_and_deterministic():
    pcm = hard_clips(12)
    c = mfcc_fixed(pcm, FIXED)
    assert c.dtype == np.int32 and c.shape == (12, 735)
    np.testing.assert_array_equal(c, mfcc_fixed(pcm, FIXED))
    np.testing.assert_array_equal(mfcc(pcm, FIXED), c * np.float32(2.0**-Q_OUT))
    # float input is the same clip rounded to 16 bits
    np.testing.assert_array_equal(mfcc(pcm / 32768.0, FIXED), mfcc(pcm, FIXED))


def test_silence_sits_on_the_floor_and_level_moves_only_c0():
    p = MfccParams(arithmetic="fixed", cmn=False)  # the coefficients themselves
    silent = mfcc_fixed(np.zeros((1, 16000), np.int16), p).reshape(p.frames, p.n_mfcc)
    # log floor 1e-6 in every filter: c0 = sqrt(40) * ln(1e-6), the rest 0
    assert np.abs(silent[:, 0] / 1024 - np.sqrt(40) * np.log(1e-6)).max() < 0.01
    assert np.abs(silent[:, 1:]).max() <= 2
    pcm = speech_like(3)[1:2]  # -27 dBFS: x4 does not clip
    louder = to_pcm16(pcm / 32768.0 * 4)
    d = (mfcc_fixed(louder, p) - mfcc_fixed(pcm, p)).reshape(p.frames, p.n_mfcc) / 1024
    # x4 in amplitude = +ln 16 in every mel energy = sqrt(40) ln 16 on c0 (block exponent
    # makes the gain exact); frames at the noise floor move less
    assert np.median(d[:, 0]) == pytest.approx(np.sqrt(40) * np.log(16), abs=0.01)
    assert np.median(np.abs(d[:, 1:])) < 0.01


def test_tables_have_the_documented_widths():
    t = tables(FIXED)
    assert t.window.dtype == np.int16 and t.window.max() <= 32767
    assert t.cos[0] == 32767 and t.cos[-1] == -32768 and t.sin[0] == 0
    assert sorted(t.bitrev.tolist()) == list(range(FIXED.n_fft // 2))
    assert (t.mel_count >= 1).all() and t.mel_weights.size == t.mel_count.sum()
    assert int(t.mel_start[-1]) + int(t.mel_count[-1]) <= FIXED.n_fft // 2 + 1


@pytest.mark.parametrize(
    "kw, msg",
    [
        ({"n_fft": 500}, "power of two"),
        ({"window": 1024}, "even window <= n_fft"),
        ({"n_mels": 300}, "n_mels <= n_fft/2"),
        ({"log_floor": 0.0}, "log_floor"),
        ({"arithmetic": "double"}, "arithmetic must be one of"),
    ],
)
def test_parameters_outside_the_definition_are_refused(kw, msg):
    with pytest.raises(ValueError, match=msg):
        MfccParams(**kw)


def test_wrong_input_is_refused():
    with pytest.raises(ValueError, match="int16 PCM"):
        mfcc_fixed(np.zeros((2, 16000), np.float32), FIXED)
    with pytest.raises(ValueError, match="int16 PCM"):
        mfcc_fixed(np.zeros((2, 100), np.int16), FIXED)


def test_older_records_mean_float_features():
    d = FLOAT.to_dict()
    del d["arithmetic"]
    assert MfccParams.from_dict(d).arithmetic == "float"


def test_features_of_another_definition_version_are_refused():
    with pytest.raises(ValueError, match="version 0; this ecqx computes version 1: re-train"):
        MfccParams(fixed_point_version=0)


def test_frame_means_round_half_up_exactly():
    """Against exact rational arithmetic, on sums that land on and beside every tie, negative
    ones included (C's truncating division would round those the other way)."""
    from fractions import Fraction
    from math import floor

    rng = np.random.default_rng(0)
    c = rng.integers(-(2**20), 2**20, size=(200, 49, 3)).astype(np.int32)
    c[:, 0, 1] += (-c[:, :, 1].sum(1) % 49).astype(np.int32)  # sums divisible by 49
    c[:, 0, 2] += (-(c[:, :, 2].sum(1) + 24) % 49).astype(np.int32)  # half-way ties
    got = frame_means(c)
    want = [[floor(Fraction(int(s), 49) + Fraction(1, 2)) for s in row]
            for row in c.astype(np.int64).sum(axis=1)]  # fmt: skip
    np.testing.assert_array_equal(got, np.array(want))
    assert (got < 0).any() and (got > 0).any()
    with pytest.raises(ValueError, match="int32"):
        frame_means(c.astype(np.int64))

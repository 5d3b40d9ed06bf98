"""Each augmentation effect is deterministic for a seed and changes the audio measurably; the
vocal-tract warp moves formants but keeps the pitch; babble and rooms are made as documented."""

import random

import numpy as np
import pytest

from ecqx.data.audio import SAMPLE_RATE, read_wav
from ecqx.data.augment import (
    EFFECTS,
    augment_clip,
    babble,
    effect,
    make_rooms,
    place_in_window,
    vtl_warp,
)


def voiced(f0=120.0, formant=900.0, seconds=0.6, seed=0):
    """A vowel-like test signal: a pulse train at f0 through one resonance at ``formant``."""
    n = int(seconds * SAMPLE_RATE)
    pulses = np.zeros(n)
    pulses[:: int(SAMPLE_RATE / f0)] = 1.0
    t = np.arange(400) / SAMPLE_RATE
    ring = np.exp(-t * 300) * np.sin(2 * np.pi * formant * t)
    x = np.convolve(pulses, ring)[:n]
    x += 0.001 * np.random.default_rng(seed).standard_normal(n)
    return (0.5 * x / np.abs(x).max()).astype(np.float32)


def formant(x):
    """Frequency of the spectral envelope's peak (power spectrum smoothed over ~80 Hz)."""
    power = np.abs(np.fft.rfft(x * np.hanning(len(x)))) ** 2
    envelope = np.convolve(power, np.ones(61) / 61, "same")
    return float(np.fft.rfftfreq(len(x), 1 / SAMPLE_RATE)[np.argmax(envelope)])


def pitch(x):
    """f0 by autocorrelation between 60 and 400 Hz."""
    x = x - x.mean()
    ac = np.correlate(x, x, "full")[len(x) - 1 :]
    lo, hi = SAMPLE_RATE // 400, SAMPLE_RATE // 60
    return SAMPLE_RATE / (lo + int(np.argmax(ac[lo:hi])))


@pytest.fixture(scope="module")
def banks(tiny_gsc):
    rooms = sorted((tiny_gsc / "_impulse_responses_").glob("*.wav"))
    noises = sorted((tiny_gsc / "_background_noise_").glob("*.wav"))
    return rooms, noises


@pytest.mark.parametrize("name", EFFECTS)
def test_each_effect_is_deterministic_and_changes_the_audio(name, banks):
    window = place_in_window(voiced(), np.random.default_rng(1))
    x = voiced() if name in ("tempo", "pitch") else window

    def run(seed):
        random.seed(seed)
        np.random.seed(seed)
        return effect(name, *banks, p=1.0)(x.copy(), sample_rate=SAMPLE_RATE)

    a, b, c = run(5), run(5), run(6)
    assert np.array_equal(a, b), name
    n = min(len(a), len(x))
    # the change's energy relative to the signal's: > -46 dB (the weakest effect, colour
    # noise at up to 40 dB SNR, is -40 dB)
    change = np.sqrt(np.mean((a[:n] - x[:n]) ** 2) / np.mean(x[:n] ** 2))
    assert len(a) != len(x) or change > 0.005, (name, change)
    assert len(a) != len(c) or not np.array_equal(a, c), name  # the seed matters


def test_a_whole_clip_is_deterministic_and_one_second(banks):
    a = augment_clip(voiced(), (0, 1, 2, 3), *banks)
    assert a.shape == (SAMPLE_RATE,) and a.dtype == np.float32
    assert np.array_equal(a, augment_clip(voiced(), (0, 1, 2, 3), *banks))
    assert not np.array_equal(a, augment_clip(voiced(), (0, 1, 2, 4), *banks))
    assert np.abs(a).max() <= 1.0 and np.count_nonzero(a) > 15000  # a noise floor


def test_vocal_tract_warp_moves_formants_and_keeps_pitch():
    x = voiced(formant=1000.0)
    up = vtl_warp(x, 1.15)
    down = vtl_warp(x, 0.87)
    assert formant(up) > 1.08 * formant(x)
    assert formant(down) < 0.92 * formant(x)
    for y in (up, down):
        assert abs(pitch(y) / pitch(x) - 1) < 0.05
    assert np.array_equal(vtl_warp(x, 1.0), x)


def test_babble_and_rooms(tmp_path):
    words = [voiced(f0=f, formant=g) for f, g in ((110, 700), (200, 1200), (150, 900))]
    b = babble(words, seconds=3, talkers=4, seed=0)
    assert b.shape == (3 * SAMPLE_RATE,) and 0.4 < np.abs(b).max() <= 0.5
    assert np.array_equal(b, babble(words, 3, 4, 0))
    assert not np.array_equal(b, babble(words, 3, 4, 1))
    rooms = make_rooms(tmp_path / "r", 3, seed=0)
    again = make_rooms(tmp_path / "s", 3, seed=0)
    for a, c in zip(rooms, again, strict=True):
        assert a.read_bytes() == c.read_bytes()
        h = read_wav(a)
        assert np.argmax(np.abs(h)) < len(h) // 4  # direct path first, then the decaying tail


def test_the_warp_is_reproducible():
    x = voiced(formant=800.0)
    assert np.array_equal(vtl_warp(x, 1.07), vtl_warp(x, 1.07))

"""Per-clip augmentation that moves synthesized words towards real recordings.

Built from maintained libraries: audiomentations for tempo, pitch, room (convolution with an
impulse response), band-pass and parametric EQ, noise at a drawn SNR, gain and clipping;
pyroomacoustics for the rooms' impulse responses (image-source method, written once per dataset
as wavs into ``_impulse_responses_/``); Praat (parselmouth) for the vocal-tract-length warp
("Change gender": formants move, pitch stays). Written here, because no library has them as
such: babble (other speakers' words summed into noise tracks), fitting a word into the 1 s
window, and the noise floor that keeps clips away from digital silence (which makes float and
fixed-point log-mel features disagree wildly).

Deterministic: audiomentations draws from Python's ``random`` and numpy's global generator,
so ``augment_clip`` seeds both from the clip's own seed before every call."""

from __future__ import annotations

import random
import warnings
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import audiomentations as A
import numpy as np
from scipy.signal import resample_poly

from ecqx.data.audio import SAMPLE_RATE, write_wav

RIR_DIR = "_impulse_responses_"
ROOMS = 48  # impulse responses per dataset


def _effects(rooms: list[Path], noises: list[Path]) -> dict[str, tuple[float, object]]:
    """name -> (probability per clip, factory taking that probability); the word-level
    effects (tempo, pitch) come first, the rest act on the 1 s window in this order."""
    return {
        "tempo": (0.8, lambda p: A.TimeStretch(min_rate=0.9, max_rate=1.1,
                                               leave_length_unchanged=False, p=p)),
        "pitch": (0.8, lambda p: A.PitchShift(min_semitones=-1.5, max_semitones=1.5, p=p)),
        "room": (0.4, lambda p: A.ApplyImpulseResponse(ir_path=rooms, p=p,
                                                       leave_length_unchanged=True)),
        # a microphone's band: high-pass 60..300 Hz, low-pass 3.5..7.5 kHz
        "bandpass": (0.3, lambda p: A.Compose([
            A.HighPassFilter(min_cutoff_freq=60, max_cutoff_freq=300, p=1.0),
            A.LowPassFilter(min_cutoff_freq=3500, max_cutoff_freq=7500, p=1.0)], p=p)),
        "eq": (0.3, lambda p: A.SevenBandParametricEQ(min_gain_db=-4, max_gain_db=4, p=p)),
        "noise": (0.5, lambda p: A.AddBackgroundNoise(sounds_path=noises, min_snr_db=10,
                                                      max_snr_db=35, p=p)),
        "color_noise": (0.2, lambda p: A.AddColorNoise(min_snr_db=20, max_snr_db=45, p=p)),
        "gain": (0.5, lambda p: A.Gain(min_gain_db=-6, max_gain_db=6, p=p)),
        "clipping": (0.03, lambda p: A.ClippingDistortion(min_percentile_threshold=5,
                                                          max_percentile_threshold=25, p=p)),
    }  # fmt: skip


WORD_EFFECTS = ("tempo", "pitch")
EFFECTS = tuple(_effects([], []))


def effect(
    name: str, rooms: Sequence[Path] = (), noises: Sequence[Path] = (), p: float | None = None
) -> A.core.transforms_interface.BaseWaveformTransform:
    """One effect as an audiomentations transform, at its own probability or ``p``."""
    prob, make = _effects(sorted(rooms), sorted(noises))[name]
    return make(prob if p is None else p)


def _shift_pitch(x: np.ndarray, semitones: float) -> np.ndarray:
    if abs(semitones) < 1e-3 or len(x) < 2048:
        return x
    return A.PitchShift(min_semitones=semitones, max_semitones=semitones, p=1.0)(
        x, sample_rate=SAMPLE_RATE
    )


def vtl_warp(x: np.ndarray, factor: float) -> np.ndarray:
    """Formants scaled by ``factor`` (a shorter vocal tract: > 1), pitch and duration kept:
    Praat's "Change gender" (PSOLA resynthesis after resampling), through parselmouth."""
    if abs(factor - 1) < 1e-3 or len(x) < 2048:
        return x
    import parselmouth  # only when synthesizing
    from parselmouth.praat import call, run

    # Praat's resynthesis draws random numbers: seed its generator so the same input gives
    # the same bytes (the stand-in must be reproducible)
    run("random_initializeWithSeedUnsafelyButPredictably (1)")
    sound = parselmouth.Sound(x.astype(np.float64), sampling_frequency=SAMPLE_RATE)
    with warnings.catch_warnings():
        # a word without voiced frames ("six" whispered by some voices) is only resampled
        warnings.filterwarnings("ignore", message="There were no voiced segments found")
        # pitch floor/ceiling 75..600 Hz; new pitch median 0 = keep; range and duration x1
        out = call(sound, "Change gender", 75, 600, factor, 0, 1, 1).values[0]
    return out[: len(x)].astype(np.float32)


def speaker_voice(x: np.ndarray, pitch_semitones: float, warp: float) -> np.ndarray:
    """A speaker's own pitch shift and vocal-tract warp, applied to its dry audio."""
    return vtl_warp(_shift_pitch(x, pitch_semitones), warp)


def make_rooms(folder: Path, n: int, seed: int) -> list[Path]:
    """``n`` room impulse responses as 16 kHz wavs: shoebox rooms 3x3x2.4 .. 9x7x3.5 m, RT60
    0.15..0.6 s, the microphone 0.3..1.5 m from the talker (a phone or laptop, as in GSC),
    both at least 0.3 m from the walls. Existing files are kept (same seed, same files)."""
    import pyroomacoustics as pra  # only when synthesizing

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng([seed, 7])
    paths = []
    for i in range(n):
        dims = rng.uniform([3, 3, 2.4], [9, 7, 3.5])
        rt60 = rng.uniform(0.15, 0.6)
        src = rng.uniform([0.5, 0.5, 1.0], dims - [0.5, 0.5, 0.8])
        direction = rng.normal(size=3)
        mic = src + rng.uniform(0.3, 1.5) * direction / np.linalg.norm(direction)
        mic = np.clip(mic, 0.3, dims - 0.3)
        path = folder / f"room_{i:03d}.wav"
        paths.append(path)
        if path.is_file():
            continue
        absorption, order = pra.inverse_sabine(rt60, dims)
        # image sources only (deterministic, unlike the ray tracer); order capped for time
        room = pra.ShoeBox(dims, fs=SAMPLE_RATE, materials=pra.Material(absorption),
                           max_order=min(order, 40))  # fmt: skip
        room.add_source(src)
        room.add_microphone(mic)
        room.compute_rir()
        h = np.asarray(room.rir[0][0], np.float64)
        write_wav(path, 0.9 * h / np.abs(h).max())
    return paths


def babble(words: Sequence[np.ndarray], seconds: int, talkers: int, seed: int) -> np.ndarray:
    """A babble track: ``talkers`` streams of the given words, each at a random level, summed."""
    rng = np.random.default_rng([seed, 11])
    n = seconds * SAMPLE_RATE
    out = np.zeros(n, np.float32)
    for _ in range(talkers):
        pos = int(rng.integers(0, SAMPLE_RATE // 2))
        stream = np.zeros(n, np.float32)
        while pos < n:
            w = words[int(rng.integers(len(words)))]
            w = w[: n - pos] / max(1e-9, float(np.abs(w).max()))
            stream[pos : pos + len(w)] += w * rng.uniform(0.3, 1.0)
            pos += len(w) + int(rng.integers(SAMPLE_RATE // 20, SAMPLE_RATE // 3))
        out += stream
    return (0.5 * out / max(1e-9, float(np.abs(out).max()))).astype(np.float32)


def trim(x: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    """Cut leading and trailing samples below ``threshold`` of the peak."""
    loud = np.nonzero(np.abs(x) > threshold * max(1e-9, float(np.abs(x).max())))[0]
    return x[loud[0] : loud[-1] + 1] if loud.size else x


def noise_floor(n: int, rng: np.random.Generator) -> np.ndarray:
    """White/pink noise mixture at -60..-40 dBFS."""
    white = rng.standard_normal(n)
    pink = np.cumsum(rng.standard_normal(n))
    pink -= np.convolve(pink, np.ones(200) / 200, mode="same")
    pink /= max(1e-9, pink.std())
    mix = rng.uniform(0, 1)
    level = 10 ** (rng.uniform(-60, -40) / 20)
    return (level * (mix * white + (1 - mix) * pink)).astype(np.float32)


def place_in_window(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Trim, fit into 1 s (time-compress if needed), random offset, peak 0.2..0.9."""
    x = trim(x)
    max_len = int(0.95 * SAMPLE_RATE)
    if len(x) > max_len:
        x = resample_poly(x, max_len, len(x)).astype(np.float32)[:max_len]
    out = np.zeros(SAMPLE_RATE, dtype=np.float32)
    start = int(rng.integers(0, SAMPLE_RATE - len(x) + 1))
    out[start : start + len(x)] = x / max(1e-9, float(np.abs(x).max())) * rng.uniform(0.2, 0.9)
    return out


@lru_cache(maxsize=4)
def _chains(rooms: tuple[Path, ...], noises: tuple[Path, ...]) -> tuple[A.Compose, A.Compose]:
    names = [n for n in EFFECTS if (n != "room" or rooms) and (n != "noise" or noises)]
    word = A.Compose([effect(n, rooms, noises) for n in names if n in WORD_EFFECTS])
    window = A.Compose([effect(n, rooms, noises) for n in names if n not in WORD_EFFECTS])
    return word, window


def augment_clip(
    dry: np.ndarray,
    seed: Sequence[int],
    rooms: Sequence[Path] = (),
    noises: Sequence[Path] = (),
) -> np.ndarray:
    """One 1 s clip from a dry word: tempo and pitch, placement in the window, room, channel,
    noise, gain, clipping and the noise floor, each drawn for ``seed``."""
    rng = np.random.default_rng(list(seed))
    word, window = _chains(tuple(sorted(rooms)), tuple(sorted(noises)))
    random.seed(int(rng.integers(2**62)))
    np.random.seed(int(rng.integers(2**32)))
    x = word(trim(dry), sample_rate=SAMPLE_RATE) if len(dry) >= 2048 else dry
    x = window(place_in_window(x, rng), sample_rate=SAMPLE_RATE)
    return np.clip(x + noise_floor(SAMPLE_RATE, rng), -1.0, 1.0).astype(np.float32)

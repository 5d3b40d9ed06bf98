"""The MFCC front end, with every parameter fixed and recorded in the model metadata.

Per 1 s clip at 16 kHz: 30 ms Hann windows (480 samples) every 20 ms (320) -> 49 frames (the
framing of TFLite Micro's micro_speech); a 512-point FFT power spectrum; 40 triangular mel
filters (HTK mel scale) from 20 Hz to 8 kHz; natural log with a 1e-6 floor; orthonormal DCT-II
keeping coefficients 0..14. Output: 49 x 15 = 735 values per clip, frame-major.

``arithmetic="fixed"`` (the default) computes it in integers from 16-bit PCM, exactly as the
generated C front end does on the device (``fixed_mfcc.py``); ``"float"`` is the float64
definition the fixed-point one approximates.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import lru_cache

import numpy as np

from ecqx.config import DEFAULT_CMN, FEATURES
from ecqx.data.fixed_mfcc import VERSION as FIXED_POINT_VERSION


@dataclass(frozen=True)
class MfccParams:
    sample_rate: int = 16000
    clip_samples: int = 16000
    window: int = 480
    hop: int = 320
    n_fft: int = 512
    n_mels: int = 40
    n_mfcc: int = 15
    f_min: float = 20.0
    f_max: float = 8000.0
    log_floor: float = 1e-6
    cmn: bool = DEFAULT_CMN  # subtract each clip's mean over its frames from every coefficient
    arithmetic: str = FEATURES[0]  # "fixed": the device's integer front end; "float": float64
    fixed_point_version: int = FIXED_POINT_VERSION  # the definition that computed them

    @property
    def frames(self) -> int:
        return 1 + (self.clip_samples - self.window) // self.hop

    @property
    def size(self) -> int:
        return self.frames * self.n_mfcc

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> MfccParams:
        """Parameters recorded by this or an older ecqx (which had only float arithmetic and
        no mean normalization, and recorded neither)."""
        return cls(**{"arithmetic": "float", "cmn": False, **d})

    def __post_init__(self) -> None:
        if self.arithmetic not in FEATURES:
            raise ValueError(f"MFCC arithmetic must be one of {FEATURES}, got {self.arithmetic!r}")
        if self.arithmetic == "fixed":
            from ecqx.data.fixed_mfcc import check_params

            check_params(self)


DEFAULT_MFCC = MfccParams()


def params_for(cfg) -> MfccParams:  # noqa: ANN001 - a TrainConfig
    """The MFCC parameters a training configuration asks for (arithmetic, mean normalization)."""
    return MfccParams(arithmetic=cfg.features, cmn=cfg.cmn)


def _hz_to_mel(f: np.ndarray) -> np.ndarray:
    return 2595.0 * np.log10(1.0 + f / 700.0)


def _mel_to_hz(m: np.ndarray) -> np.ndarray:
    return 700.0 * (10.0 ** (m / 2595.0) - 1.0)


@lru_cache(maxsize=4)
def window(p: MfccParams) -> np.ndarray:
    """The analysis window: Hann without its zero end points."""
    return np.hanning(p.window + 2)[1:-1]


@lru_cache(maxsize=4)
def mel_filterbank(p: MfccParams) -> np.ndarray:
    """(n_mels, n_fft//2+1) triangular filters."""
    bins = np.arange(p.n_fft // 2 + 1) * p.sample_rate / p.n_fft
    edges = _mel_to_hz(np.linspace(_hz_to_mel(p.f_min), _hz_to_mel(p.f_max), p.n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (bins[None, :] - lo) / (mid - lo)
    down = (hi - bins[None, :]) / (hi - mid)
    return np.maximum(0.0, np.minimum(up, down))


@lru_cache(maxsize=4)
def dct_matrix(p: MfccParams) -> np.ndarray:
    """(n_mfcc, n_mels) orthonormal DCT-II rows."""
    n = np.arange(p.n_mels)
    k = np.arange(p.n_mfcc)[:, None]
    m = np.cos(np.pi / p.n_mels * (n + 0.5) * k) * np.sqrt(2.0 / p.n_mels)
    m[0] /= np.sqrt(2.0)
    return m


def mfcc(clips: np.ndarray, p: MfccParams = DEFAULT_MFCC) -> np.ndarray:
    """MFCCs of a batch of clips (N, clip_samples) -> (N, frames * n_mfcc) float32. Float clips
    are in [-1, 1); the fixed-point front end takes them as 16-bit PCM (or int16 directly) and
    returns its Q10 integers / 1024, which float32 holds exactly."""
    clips = np.asarray(clips)
    if clips.ndim == 1:
        clips = clips[None]
    if clips.shape[1] != p.clip_samples:
        raise ValueError(f"clips must have {p.clip_samples} samples, got {clips.shape[1]}")
    if p.arithmetic == "fixed":
        from ecqx.data.fixed_mfcc import Q_OUT, mfcc_fixed, to_pcm16

        pcm = clips if clips.dtype == np.int16 else to_pcm16(clips)
        return (mfcc_fixed(pcm, p) * np.float32(2.0**-Q_OUT)).astype(np.float32)
    if clips.dtype == np.int16:
        clips = clips / 32768.0
    clips = clips.astype(np.float64)
    idx = np.arange(p.frames)[:, None] * p.hop + np.arange(p.window)[None, :]
    frames = clips[:, idx] * window(p)
    power = np.abs(np.fft.rfft(frames, n=p.n_fft, axis=-1)) ** 2
    mel = np.log(np.maximum(power @ mel_filterbank(p).T, p.log_floor))
    coeffs = mel @ dct_matrix(p).T  # (N, frames, n_mfcc)
    if p.cmn:
        # cepstral mean normalization: a fixed channel (microphone, room colour, gain, a
        # synthesizer's spectral tilt) adds a constant to every frame's cepstrum
        coeffs = coeffs - coeffs.mean(axis=1, keepdims=True)
    return coeffs.reshape(len(clips), -1).astype(np.float32)

"""The fixed-point MFCC front end: the integer definition that the generated C front end
(``codegen/kernels/ecqx_mfcc_frame.c``) computes bit for bit, and that the models train on.

It follows the float front end of ``features.py`` step by step, in integers:

1. block exponent: each 16-bit frame is shifted left by ``e`` (0..15) so that its largest
   sample uses the full 16 bits, which keeps quiet frames as precise as loud ones;
2. Hann window in Q15, the windowed samples kept with 8 guard bits (int32);
3. a radix-2 complex FFT of half the length on the packed even/odd samples, halving after
   every stage (no overflow; twiddle 1 is exact, the others Q15), then the split that turns
   it into the real FFT;
4. power spectrum (int64), shifted right by 2, and triangular mel filters in Q15 (Parseval
   bounds the windowed frame's power below 2^48, so a mel energy stays below 2^61);
5. log2 of each mel energy in Q16 (leading-bit position + a 65-entry table, linearly
   interpolated), minus the block exponent and the fixed scale of steps 1-4, floored at the
   float front end's ``log_floor``;
6. a DCT-II in Q20 that also converts log2 to the natural log; output int32 in Q10;
7. optionally (``MfccParams.cmn``) cepstral mean normalization over the clip's frames, in
   the same Q10 integers: each coefficient's mean over the frames, rounded half up
   (``frame_means``), is subtracted. It works on the finished coefficients, so the
   definition of steps 1-6 (``VERSION``) is unchanged.

So ``coefficients / 1024`` equals the float front end's MFCC up to the rounding of the
fixed-point steps (tested). Normalization and the int8 input quantization are the integer
model's own float32 ``quantize_input``, which the C library evaluates in IEEE single
precision too, so a fixed-point feature reaches the same int8 in every runtime.

Written here rather than taken from CMSIS-DSP: ``arm_mfcc_q15`` needs the FFT length equal to
the window (zero padding is not part of it), has no block exponent (quiet clips lose most of
their 16 bits in its q15 FFT), and its Python wrapper is a source build of the whole library.
Every step above is a few lines of integer arithmetic that numpy vectorizes over all frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

# The definition's version, recorded with every model's feature parameters: a change to any
# step below makes features of older models differ, so it must be bumped (older models are
# then refused with "re-train" instead of silently getting other features).
VERSION = 1
Q_OUT = 10  # coefficients are int32 in Q10
Q_LOG = 16  # log2 of the mel energies in Q16
Q_DCT = 20
GUARD = 8  # guard bits kept below the 16-bit samples through the FFT
LOG_SEGMENTS = 64  # linear segments of the log2 mantissa table
MAX_EXPONENT = 15
POWER_SHIFT = 2  # power spectrum >> 2 before the Q15 mel weights
# log2 of what one step of the integer mel energy is worth, relative to the float front end
# (clip in [-1, 1), |rfft|^2 of the windowed frame), for block exponent 0: samples and the
# window in Q15 (30 bits), 8 guard bits less the FFT's 1/256 (0), squared (x2), mel
# weights Q15, less the power shift
ENERGY_BITS = 2 * 15 + 15 - POWER_SHIFT


@dataclass(frozen=True)
class Tables:
    """Every constant the front end uses, in the integer widths the C code declares."""

    window: np.ndarray  # int16 [window], Q15 Hann
    cos: np.ndarray  # int16 [n_fft/2 + 1], Q15 cos(2 pi k / n_fft) (1.0 saturates to 32767)
    sin: np.ndarray  # int16 [n_fft/2 + 1], Q15 sin(2 pi k / n_fft)
    bitrev: np.ndarray  # uint16 [n_fft/2], bit reversal of the half-length FFT
    mel_start: np.ndarray  # uint16 [n_mels], first FFT bin of each filter
    mel_count: np.ndarray  # uint16 [n_mels], bins in each filter
    mel_weights: np.ndarray  # int16 [sum(mel_count)], Q15, the filters one after another
    log2_table: np.ndarray  # int32 [LOG_SEGMENTS + 1], Q16 log2(1 + j / LOG_SEGMENTS)
    dct: np.ndarray  # int32 [n_mfcc, n_mels], Q20 orthonormal DCT-II times ln 2
    log_floor_q16: int  # the floor of log2(mel energy), Q16


def check_params(p) -> None:  # noqa: ANN001 - MfccParams (features imports this module)
    """Raise ValueError for parameters the fixed-point front end is not defined for."""
    if p.fixed_point_version != VERSION:
        raise ValueError(
            f"features of fixed-point front end version {p.fixed_point_version}; this ecqx "
            f"computes version {VERSION}: re-train the model"
        )
    half = p.n_fft // 2
    if p.n_fft < 16 or p.n_fft & (p.n_fft - 1) or p.n_fft > 4096:
        raise ValueError(f"fixed-point MFCC needs n_fft a power of two in 16..4096, got {p.n_fft}")
    if not 2 <= p.window <= p.n_fft or p.window % 2:
        raise ValueError(f"fixed-point MFCC needs an even window <= n_fft, got {p.window}")
    if not 1 <= p.n_mfcc <= p.n_mels <= half:
        raise ValueError(f"need 1 <= n_mfcc <= n_mels <= n_fft/2, got {p.n_mfcc}, {p.n_mels}")
    if not 0 < p.log_floor < 1:
        raise ValueError(f"log_floor must be in (0, 1), got {p.log_floor}")


def _q(x: np.ndarray, bits: int, dtype: type) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.clip(np.round(np.asarray(x) * 2.0**bits), info.min, info.max).astype(dtype)


@lru_cache(maxsize=4)
def tables(p) -> Tables:  # noqa: ANN001 - MfccParams
    from ecqx.data.features import dct_matrix, mel_filterbank, window

    check_params(p)
    half = p.n_fft // 2
    k = np.arange(half + 1)
    bits = half.bit_length() - 1
    rev = np.array([int(f"{i:0{bits}b}"[::-1], 2) for i in range(half)])
    fb = _q(mel_filterbank(p), 15, np.int16)
    starts, counts, weights = [], [], []
    for row in fb:
        nz = np.flatnonzero(row)
        if nz.size == 0:
            raise ValueError(f"a mel filter has no FFT bin: raise n_fft or lower n_mels ({p})")
        starts.append(nz[0])
        counts.append(nz[-1] - nz[0] + 1)
        weights.append(row[nz[0] : nz[-1] + 1])
    segs = np.arange(LOG_SEGMENTS + 1) / LOG_SEGMENTS
    return Tables(
        window=_q(window(p), 15, np.int16),
        cos=_q(np.cos(2 * np.pi * k / p.n_fft), 15, np.int16),
        sin=_q(np.sin(2 * np.pi * k / p.n_fft), 15, np.int16),
        bitrev=rev.astype(np.uint16),
        mel_start=np.array(starts, np.uint16),
        mel_count=np.array(counts, np.uint16),
        mel_weights=np.concatenate(weights).astype(np.int16),
        log2_table=_q(np.log2(1 + segs), Q_LOG, np.int32),
        dct=_q(dct_matrix(p) * np.log(2.0), Q_DCT, np.int32),
        log_floor_q16=int(np.round(np.log2(p.log_floor) * 2**Q_LOG)),
    )


def to_pcm16(clips: np.ndarray) -> np.ndarray:
    """float clips in [-1, 1) -> int16 PCM (rounded, saturated), as a 16-bit ADC delivers."""
    return np.clip(np.rint(np.asarray(clips, np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def stream_coefficients(pcm: np.ndarray, p) -> np.ndarray:  # noqa: ANN001
    """int16 PCM of any length -> int32 MFCC [frames, n_mfcc] (Q10) of every frame that fits:
    frame f covers samples [f * hop, f * hop + window), as in a clip. Not mean normalized:
    with ``p.cmn`` each inference window subtracts its own frame means."""
    pcm = np.ascontiguousarray(pcm)
    if pcm.dtype != np.int16 or pcm.ndim != 1 or pcm.size < p.window:
        raise ValueError(f"a stream is int16 PCM of >= {p.window} samples, got {pcm.dtype} "
                         f"{list(pcm.shape)}")  # fmt: skip
    out = np.empty((1, 1 + (pcm.size - p.window) // p.hop, p.n_mfcc), np.int32)
    from ecqx.data.fixed_mfcc_loops import clips_mfcc

    clips_mfcc(pcm[None], p.hop, _table_args(p), p.n_fft, out)
    return out[0]


def _table_args(p) -> tuple:  # noqa: ANN001
    t = tables(p)
    return (t.window, t.cos, t.sin, t.bitrev, t.mel_start, t.mel_count, t.mel_weights,
            t.log2_table, t.dct, np.int64(t.log_floor_q16))  # fmt: skip


def frame_means(coeffs: np.ndarray) -> np.ndarray:
    """int32 Q10 coefficients [..., frames, n] -> each coefficient's mean over the frames,
    int32 [..., n], rounded half up: floor((2 * sum + frames) / (2 * frames)), the integer
    division that ``ecqx_coeff_means`` computes in C."""
    c = np.asarray(coeffs)
    if c.dtype != np.int32 or c.ndim < 2:
        raise ValueError(f"frame_means takes int32 [..., frames, n], got {c.dtype} {c.shape}")
    frames = c.shape[-2]
    total = c.astype(np.int64).sum(axis=-2)
    return ((2 * total + frames) // (2 * frames)).astype(np.int32)


def subtract_frame_means(coeffs: np.ndarray) -> np.ndarray:
    """Cepstral mean normalization of int32 [..., frames, n] in Q10 (step 7)."""
    return coeffs - frame_means(coeffs)[..., None, :]


def mfcc_fixed(pcm: np.ndarray, p) -> np.ndarray:  # noqa: ANN001
    """int16 PCM clips [N, clip_samples] -> int32 MFCC [N, frames * n_mfcc] in Q10, mean
    normalized per clip when ``p.cmn``."""
    pcm = np.ascontiguousarray(pcm)
    if pcm.dtype != np.int16 or pcm.ndim != 2 or pcm.shape[1] != p.clip_samples:
        raise ValueError(f"fixed-point MFCC takes int16 PCM [N, {p.clip_samples}], got "
                         f"{pcm.dtype} {list(pcm.shape)}")  # fmt: skip
    out = np.empty((len(pcm), p.frames, p.n_mfcc), np.int32)
    from ecqx.data.fixed_mfcc_loops import clips_mfcc  # numba: imported when first used

    clips_mfcc(pcm, p.hop, _table_args(p), p.n_fft, out)
    if p.cmn:
        out = subtract_frame_means(out)
    return out.reshape(len(pcm), -1)

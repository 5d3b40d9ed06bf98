"""The loops of the fixed-point MFCC (see ``fixed_mfcc`` for the definition and the tables),
written one to one like the C kernel and compiled by numba, so the reference runs at the
speed the training augmentation needs (each epoch recomputes the features of every noisy
clip). ``NUMBA_DISABLE_JIT=1`` runs them as plain Python for debugging.

All arithmetic is int64 and every right shift is arithmetic (floor), as in the C code."""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ecqx.data.fixed_mfcc import (
    ENERGY_BITS,
    GUARD,
    LOG_SEGMENTS,
    MAX_EXPONENT,
    POWER_SHIFT,
    Q_DCT,
    Q_LOG,
    Q_OUT,
)


@njit(cache=True)
def block_exponent(peak: int) -> int:
    """Left shift (0..15) that brings a frame's largest |sample| ``peak`` (0..32768) to 16
    bits; 15 for an all-zero frame."""
    bitlen = 0
    while bitlen < 16 and peak >= (1 << bitlen):
        bitlen += 1
    return max(0, MAX_EXPONENT - bitlen)


@njit(cache=True)
def log2_q16(v: int, table: np.ndarray) -> int:
    """log2 of an integer 1 <= v < 2^62 in Q16, from ``Tables.log2_table``."""
    msb = 0
    while (v >> (msb + 1)) > 0:
        msb += 1
    r = v >> (msb - 22) if msb >= 22 else v << (22 - msb)  # leading one at bit 22
    idx = (r >> 16) & (LOG_SEGMENTS - 1)
    frac = r & 0xFFFF
    lo = np.int64(table[idx])
    hi = np.int64(table[idx + 1])
    return (msb << Q_LOG) + lo + (((hi - lo) * frac + (1 << 15)) >> 16)


@njit(cache=True)
def frame_mfcc(
    frame: np.ndarray, window: np.ndarray, cos: np.ndarray, sin: np.ndarray,
    bitrev: np.ndarray, mel_start: np.ndarray, mel_count: np.ndarray,
    mel_weights: np.ndarray, log2_table: np.ndarray, dct: np.ndarray, log_floor: int,
    n_fft: int, out: np.ndarray,
) -> None:  # fmt: skip
    """One int16 frame -> ``out`` int32 [n_mfcc] in Q10: the loops of the C kernel, one to
    one (all arithmetic int64, shifts arithmetic)."""
    half = n_fft // 2
    n = frame.shape[0]
    peak = 0
    for i in range(n):
        peak = max(peak, abs(np.int64(frame[i])))
    e = block_exponent(peak)
    # steps 1-2: scaled, windowed, packed as complex (even, odd) in bit-reversed order
    zr = np.zeros(half, np.int64)
    zi = np.zeros(half, np.int64)
    for j in range(half):
        for part in range(2):
            i = 2 * bitrev[j] + part
            if i < n:
                v = ((np.int64(frame[i]) << e) * window[i]) >> (15 - GUARD)
                if part == 0:
                    zr[j] = v
                else:
                    zi[j] = v
    # step 3: radix-2 stages, each halving
    size = 2
    while size <= half:
        h = size // 2
        step = n_fft // size
        for g in range(0, half, size):
            for j in range(h):
                a, b = g + j, g + j + h
                tr, ti = zr[b], zi[b]  # twiddle 1 (j = 0) multiplies exactly
                if j != 0:
                    c = np.int64(cos[j * step])
                    s = np.int64(sin[j * step])
                    tr = (zr[b] * c + zi[b] * s + (1 << 14)) >> 15
                    ti = (zi[b] * c - zr[b] * s + (1 << 14)) >> 15
                zr[b] = (zr[a] - tr) >> 1
                zi[b] = (zi[a] - ti) >> 1
                zr[a] = (zr[a] + tr) >> 1
                zi[a] = (zi[a] + ti) >> 1
        size *= 2
    # step 3b-4: split into the real FFT's bins, power, mel filters
    power = np.zeros(half + 1, np.int64)
    for k in range(half + 1):
        p, m = k % half, (half - k) % half
        ar, ai = zr[p] + zr[m], zi[p] - zi[m]
        br, bi = zr[p] - zr[m], zi[p] + zi[m]
        c = np.int64(cos[k])
        s = np.int64(sin[k])
        # W^k (-i B) with -i B = (bi, -br)
        cr = (bi * c - br * s + (1 << 14)) >> 15
        ci = (-br * c - bi * s + (1 << 14)) >> 15
        xr = (ar + cr) >> 1
        xi = (ai + ci) >> 1
        power[k] = (xr * xr + xi * xi) >> POWER_SHIFT
    n_mels = mel_start.shape[0]
    log = np.zeros(n_mels, np.int64)
    pos = 0
    for m in range(n_mels):
        energy = np.int64(0)
        for k in range(mel_count[m]):
            energy += power[mel_start[m] + k] * mel_weights[pos + k]
        pos += mel_count[m]
        # step 5: log2 in Q16, the frame's scale removed, floored
        v = np.int64(log_floor)
        if energy > 0:
            v = max(v, log2_q16(energy, log2_table) - ((2 * e + ENERGY_BITS) << Q_LOG))
        log[m] = v
    # step 6: DCT (times ln 2) to Q10
    shift = Q_LOG + Q_DCT - Q_OUT
    for j in range(out.shape[0]):
        acc = np.int64(0)
        for m in range(n_mels):
            acc += log[m] * dct[j, m]
        out[j] = (acc + (1 << (shift - 1))) >> shift


@njit(cache=True, parallel=True)
def clips_mfcc(pcm: np.ndarray, hop: int, t: tuple, n_fft: int, out: np.ndarray) -> None:
    """int16 clips [N, samples] -> ``out`` int32 [N, frames, n_mfcc], parallel over clips."""
    n = t[0].shape[0]
    for c in prange(pcm.shape[0]):
        for f in range(out.shape[1]):
            frame_mfcc(pcm[c, f * hop : f * hop + n], *t, n_fft, out[c, f])

"""Fixed-point requantization as TFLite and CMSIS-NN define it (pure numpy).

A real multiplier ``M = s_in * s_w / s_out`` is written as ``m * 2^(shift - 31)`` with an int32
``m`` in ``[2^30, 2^31)``. Two roundings of ``acc * M`` exist in those libraries:

- ``single`` (TFLITE_SINGLE_ROUNDING, CMSIS_NN_USE_SINGLE_ROUNDING; our default):
  ``(acc * m + 2^(30 - shift)) >> (31 - shift)`` in 64 bits: one rounding, half toward +inf.
- ``double`` (gemmlowp, TFLite's default build, so LiteRT): first
  ``SaturatingRoundingDoublingHighMul(acc, m)`` = ``(acc * m + nudge) / 2^31`` truncated toward
  zero with ``nudge = 2^30`` (``1 - 2^30`` for a negative product), then
  ``RoundingDivideByPOT(x, -shift)``, each rounding half away from zero. Rounding twice lands
  one step off whenever the first rounding crosses a half: for a shift of -3 about 3% of values.

``single`` is the integer model's default because it is the correctly rounded one: a float
fake-quant network (PyTorch) and ONNX Runtime's float requantization agree with it except at
exact ties. The C kernels implement both; the TFLite export is checked against LiteRT in
``double`` mode.
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def quantize_multiplier(real: float) -> tuple[int, int]:
    """``real`` -> (m, shift) with ``real ~= m * 2^(shift - 31)``, as TFLite's QuantizeMultiplier:
    frexp, round the mantissa to 31 bits (half away from zero), renormalize on carry."""
    if not math.isfinite(real) or real < 0:
        raise ValueError(f"requantization multiplier must be finite and >= 0, got {real}")
    if real == 0.0:
        return 0, 0
    frac, shift = math.frexp(real)
    m = int(math.floor(frac * (1 << 31) + 0.5))  # frac > 0: half away from zero
    if m == 1 << 31:
        m //= 2
        shift += 1
    if shift < -31:  # the multiplier underflows to zero, as in TFLite
        return 0, 0
    if shift > 30:
        raise ValueError(f"requantization multiplier {real} is too large for int32 fixed point")
    return m, shift


def multiplier_of(in_scale: float, w_scale: float, out_scale: float) -> float:
    """The real multiplier from float32 scales, computed in double as TFLite does."""
    return float(np.float64(np.float32(in_scale)) * np.float64(np.float32(w_scale))) / float(
        np.float32(out_scale)
    )


def _div_trunc(num: np.ndarray, den: int) -> np.ndarray:
    """Integer division truncating toward zero (C semantics) for int64 arrays."""
    q = np.abs(num) // den
    return np.where(num < 0, -q, q)


def rounding_doubling_high_mul(a: np.ndarray, m: int) -> np.ndarray:
    a = np.asarray(a, dtype=np.int64)
    prod = a * np.int64(m)
    nudge = np.where(prod >= 0, np.int64(1 << 30), np.int64(1 - (1 << 30)))
    out = _div_trunc(prod + nudge, 1 << 31)
    # The only overflow case: INT32_MIN * INT32_MIN, which m never is (m >= 0).
    return out.astype(np.int64)


def rounding_divide_by_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    x = np.asarray(x, dtype=np.int64)
    if exponent == 0:
        return x
    mask = np.int64((1 << exponent) - 1)
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0).astype(np.int64)
    return (x >> exponent) + (remainder > threshold).astype(np.int64)


ROUNDINGS = ("single", "double")


def check_rounding(rounding: str) -> str:
    if rounding not in ROUNDINGS:
        raise ValueError(f"rounding must be one of {ROUNDINGS}, got {rounding!r}")
    return rounding


def requantize(acc: np.ndarray, m: int, shift: int, rounding: str = "single") -> np.ndarray:
    """TFLite's MultiplyByQuantizedMultiplier on an int32 accumulator array (result int64)."""
    acc = np.asarray(acc, dtype=np.int64)
    if acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise OverflowError("accumulator outside int32")
    if check_rounding(rounding) == "single":
        total = 31 - shift
        return (acc * np.int64(m) + np.int64(1 << (total - 1))) >> total
    left, right = (shift, 0) if shift > 0 else (0, -shift)
    return rounding_divide_by_pot(rounding_doubling_high_mul(acc << left, m), right)


def quantize_float(x: np.ndarray, scale: float, lo: int = -128, hi: int = 127) -> np.ndarray:
    """float -> int8: round half to even of ``x / scale`` in float32, then clamp (as
    ONNX QuantizeLinear and TFLite's QUANTIZE do for a zero point of 0)."""
    q = np.rint(np.asarray(x, dtype=np.float32) / np.float32(scale))
    return np.clip(q, lo, hi).astype(np.int8)

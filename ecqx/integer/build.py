"""Checkpoint -> IntegerModel: activation-scale calibration, bias and multiplier quantization,
and the proof that no accumulator can overflow."""

from __future__ import annotations

import numpy as np

from ecqx.integer.checkpoint import TrainedModel
from ecqx.integer.engine import run_layer
from ecqx.integer.model import IntegerModel, IntegerModelError, IntLayer
from ecqx.integer.requant import INT32_MAX, multiplier_of, quantize_float, quantize_multiplier

CALIBRATION_PERCENTILE = 99.99
FLOAT_EXACT = 2**24  # below this, float32 sums of integers are exact (ONNX Runtime's path)


def _f32(x: float) -> float:
    return float(np.float32(x))


def calibrated_scale(values: np.ndarray, percentile: float = CALIBRATION_PERCENTILE) -> float:
    """Symmetric int8 scale covering the given percentile of |values| (float32-exact)."""
    peak = float(np.percentile(np.abs(values), percentile)) if values.size else 0.0
    return _f32(peak / 127.0) if peak > 0 else 1.0


def input_bound(relu_before: bool) -> int:
    """Largest |x| of an int8 input: 127 after a ReLU clamp, 128 for the raw input."""
    return 127 if relu_before else 128


def worst_case_accumulator(codes: np.ndarray, bias: np.ndarray, x_max: int) -> int:
    """max over rows of ``x_max * sum|codes| + |bias|``: the largest |acc| any input reaches."""
    per_row = np.abs(codes.astype(np.int64)).sum(axis=1) * x_max + np.abs(bias.astype(np.int64))
    return int(per_row.max()) if per_row.size else 0


def check_overflow(model: IntegerModel) -> list[int]:
    """Worst-case |acc| per layer; raises IntegerModelError if any can leave int32."""
    bounds = []
    for i, ly in enumerate(model.layers):
        bound = worst_case_accumulator(ly.codes, ly.bias, input_bound(i > 0))
        headroom = 2 ** max(ly.shift, 0)  # a left shift before the multiply scales acc too
        if bound * headroom > INT32_MAX:
            raise IntegerModelError(
                f"layer {ly.name}: an int8 input can drive the int32 accumulator to "
                f"{bound * headroom} > {INT32_MAX}; quantize with fewer bits or a larger lambda "
                "(sparser rows), or split the layer"
            )
        bounds.append(bound)
    return bounds


def build(trained: TrainedModel, calibration: np.ndarray, rounding: str = "single") -> IntegerModel:
    """Quantize activations layer by layer on calibration features (raw, unnormalized).

    Calibration runs through the integer layers already built, so each scale sees the
    rounding of everything before it."""
    x_norm = (np.asarray(calibration, np.float32) - trained.input_mean) / trained.input_std
    s_in = calibrated_scale(x_norm)
    x = quantize_float(x_norm, s_in)
    layers = []
    s_x = s_in
    for ql, relu in zip(trained.layers, trained.relu_after, strict=True):
        w_scale = _f32(ql.step)
        bias_scale = np.float64(np.float32(s_x)) * np.float64(np.float32(w_scale))
        y = (x.astype(np.float64) @ ql.codes.T.astype(np.float64)) * bias_scale + ql.bias
        # Logits keep their peak (clipping could change the argmax); hidden layers a percentile.
        s_y = calibrated_scale(
            np.maximum(y, 0) if relu else y, CALIBRATION_PERCENTILE if relu else 100.0
        )
        bias = np.rint(ql.bias.astype(np.float64) / bias_scale)
        if np.abs(bias).max(initial=0) > INT32_MAX:
            raise IntegerModelError(f"layer {ql.name}: bias does not fit int32 at its scale")
        try:
            m, shift = quantize_multiplier(multiplier_of(s_x, w_scale, s_y))
        except ValueError as e:
            raise IntegerModelError(
                f"layer {ql.name}: {e}; the trained weights or activations are degenerate "
                "(re-train, or calibrate on other data)"
            ) from e
        layer = IntLayer(
            name=ql.name,
            codes=ql.codes.astype(np.int8),
            bias=bias.astype(np.int32),
            bits=ql.bits,
            w_scale=w_scale,
            in_scale=s_x,
            out_scale=s_y,
            multiplier=m,
            shift=shift,
            relu=relu,
        )
        layers.append(layer)
        x = run_layer(layer, x, rounding)
        s_x = s_y
    model = IntegerModel(
        layers=layers,
        input_scale=s_in,
        labels=trained.labels,
        input_mean=trained.input_mean,
        input_std=trained.input_std,
        meta=trained.meta,
        rounding=rounding,
    )
    model.validate()
    check_overflow(model)
    return model

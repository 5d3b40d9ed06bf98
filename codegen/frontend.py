"""What the generated C front end holds: the fixed-point MFCC tables of the model's feature
parameters (``ecqx.data.fixed_mfcc``) and the model's input normalization, as the template
context of ``ecqx_frontend_data.{h,c}``. Models trained on float features have no C front end
(their users compute the features themselves)."""

from __future__ import annotations

import numpy as np

from ecqx.codegen.plan import c_array
from ecqx.data.features import MfccParams
from ecqx.data.fixed_mfcc import tables
from ecqx.integer.model import IntegerModel
from ecqx.integer.recognize import RecognizerParams, is_keyword, threshold_q


def feature_params(model: IntegerModel) -> MfccParams | None:
    """The model's MFCC parameters, or None when the model records none."""
    d = model.meta.get("mfcc")
    return MfccParams.from_dict(d) if d else None


def has_frontend(model: IntegerModel) -> bool:
    p = feature_params(model)
    return p is not None and p.arithmetic == "fixed"


def c_floats(values: np.ndarray, per_line: int = 6) -> str:
    """float32 values as a C initializer body; 9 significant digits name each float32 exactly."""
    vals = [f"{float(v):.9g}f" for v in np.asarray(values, np.float32).flatten()]
    lines = [", ".join(vals[i : i + per_line]) for i in range(0, len(vals), per_line)]
    return ",\n".join("    " + ln for ln in lines)


def frontend_context(model: IntegerModel, stream: RecognizerParams | None = None) -> dict:
    """The values the front-end templates print (``frontend`` is None without a front end);
    ``stream``: the streaming recognizer's settings (default RecognizerParams())."""
    if not has_frontend(model):
        return {"frontend": None, "stream": None}
    stream = stream or RecognizerParams()
    stream.validate()
    p = feature_params(model)
    t = tables(p)
    return {
        "frontend": {
            "sample_rate": p.sample_rate,
            "samples": p.clip_samples,
            "window": p.window,
            "hop": p.hop,
            "fft_len": p.n_fft,
            "frames": p.frames,
            "mels": p.n_mels,
            "coeffs": p.n_mfcc,
            "cmn": p.cmn,
            "log_floor_q16": t.log_floor_q16,
            "window_q15": c_array(t.window, 12),
            "cos_q15": c_array(t.cos, 12),
            "sin_q15": c_array(t.sin, 12),
            "bitrev": c_array(t.bitrev, 16),
            "mel_start": c_array(t.mel_start, 20),
            "mel_count": c_array(t.mel_count, 20),
            "n_mel_weights": t.mel_weights.size,
            "mel_weights": c_array(t.mel_weights, 12),
            "log2_table": c_array(t.log2_table, 8),
            "dct": c_array(t.dct, 8),
            "mean": c_floats(model.input_mean),
            "std": c_floats(model.input_std),
            "is_keyword": ", ".join(str(int(v)) for v in is_keyword(model.labels)),
        },
        "stream": stream.to_dict() | {"threshold_q": threshold_q(stream, model.output_scale)},
    }

"""TFLite in LiteRT and TFLM against the reference engine (which are bit-exact, which are not)."""

import dataclasses

import numpy as np
from helpers import random_integer_model

from ecqx.export import tflite_fc
from ecqx.integer import engine


def test_tflite_in_litert_and_tflm(tmp_path):
    model, feats = random_integer_model(seed=21, widths=(41, 32, 24, 6))
    x = model.quantize_input(feats)
    ref = engine.run(model, x)
    ref_double = engine.run(dataclasses.replace(model, rounding="double"), x)
    path = tflite_fc.export(model, tmp_path / "m.tflite")
    assert path.read_bytes()[4:8] == b"TFL3"
    # TFLM's reference kernels round twice (gemmlowp): bit-exact with the double mode.
    assert np.array_equal(tflite_fc.run_tflm(path, x), ref_double)
    # LiteRT runs int8 filters with single rounding: bit-exact with the default mode.
    wide = dataclasses.replace(
        model, layers=[dataclasses.replace(ly, bits=5) for ly in model.layers]
    )
    path8 = tflite_fc.export(wide, tmp_path / "m8.tflite")
    assert np.array_equal(tflite_fc.run_litert(path8, x), ref)
    # LiteRT's INT4 filters mix both roundings by layer shape: one LSB at most.
    got4 = tflite_fc.run_litert(path, x)
    assert np.abs(got4.astype(int) - ref).max() <= 2
    assert (got4.argmax(1) == ref.argmax(1)).mean() >= 0.9

"""ONNX QDQ in onnxruntime against the reference engine at every optimization level: equal on
these models, and where float32 requantization differs, only at near-ties."""

import dataclasses

import numpy as np
import onnx
import pytest
from helpers import random_integer_model

from ecqx.export import onnx_qdq
from ecqx.integer import engine


@pytest.mark.parametrize("bits", [2, 4, 5])
def test_onnx_qdq_is_bit_exact_at_every_optimization_level(tmp_path, bits):
    model, feats = random_integer_model(seed=10 + bits, bits=bits)
    path = onnx_qdq.export(model, tmp_path / "m.onnx")
    m = onnx.load(path)
    onnx.checker.check_model(m, full_check=True)
    inits = {t.name: t.data_type for t in m.graph.initializer}
    want = onnx.TensorProto.INT4 if bits <= 4 else onnx.TensorProto.INT8
    assert inits["l0_w"] == want and inits["l0_b"] == onnx.TensorProto.INT32
    ref = engine.run(model, model.quantize_input(feats))
    for level in onnx_qdq.LEVELS:
        assert np.array_equal(onnx_qdq.run(path, feats, level), ref), level


def test_near_ties_explain_float_rounding_and_catch_real_errors(tmp_path):
    """A value exactly on a half: the float32 graph may round it either way (explained); a
    wrong bias in the graph is a difference no rounding explains."""
    model, feats = random_integer_model(seed=21, bits=4)
    path = onnx_qdq.export(model, tmp_path / "m.onnx")
    clean = onnx_qdq.near_ties(model, path, feats, "all")
    assert clean["unexplained"] == []
    first = dataclasses.replace(model.layers[0], bias=model.layers[0].bias + 50000)
    broken = dataclasses.replace(model, layers=[first, *model.layers[1:]])
    # the graph holds the original bias: judged against the broken model, nothing is a tie
    found = onnx_qdq.near_ties(broken, path, feats, "all")
    assert found["differing_samples"] > 0 and found["unexplained"]
    assert "from a half" in found["unexplained"][0]

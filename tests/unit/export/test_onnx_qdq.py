"""ONNX QDQ in onnxruntime equals the reference engine bit for bit at every optimization level."""

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

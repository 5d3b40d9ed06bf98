"""PyTorch fake-quant predictions agree with the reference engine."""

import numpy as np
import pytest
from helpers import random_integer_model

from ecqx.integer import engine
from ecqx.integer.fakequant import fake_quant_predict


@pytest.mark.parametrize("bits", [2, 3, 4, 5])
def test_pytorch_fake_quant_agrees_with_the_engine(bits):
    model, feats = random_integer_model(seed=bits, bits=bits, widths=(64, 48, 32, 10))
    rng = np.random.default_rng(0)
    x = model.quantize_input(rng.normal(0, 2, (3000, 64)).astype(np.float32))
    agree = (fake_quant_predict(model, x) == engine.predict(model, x)).mean()
    assert agree >= 0.999

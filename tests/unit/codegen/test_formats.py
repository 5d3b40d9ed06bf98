"""The per-layer C weight encoding choice and its Cortex-M4 instruction cost model."""

import dataclasses

import numpy as np
import pytest
from helpers import random_integer_model

from ecqx.codegen import formats


def test_fast_weights_follow_the_cost_model():
    """`fast` takes the encoding with the fewest estimated instructions: sparse for a very
    sparse layer, dense int8 for a nearly dense one (its SMLAD path beats packed fields)."""
    model, _ = random_integer_model(seed=5, widths=(300, 64, 8), bits=4, sparsity=0.95)
    sparse_layer = model.layers[0]
    dense_layer = dataclasses.replace(sparse_layer, codes=np.where(
        sparse_layer.codes == 0, 1, sparse_layer.codes).astype(np.int8))  # fmt: skip
    assert formats.choose(sparse_layer, "fast") == "sparse"
    assert formats.choose(dense_layer, "fast") == "int8"
    est = {f: formats.estimated_instructions(sparse_layer, f) for f in ("sparse", "int8")}
    assert est["sparse"] < est["int8"]
    with pytest.raises(ValueError, match="one of"):
        formats.choose(sparse_layer, "smallest")

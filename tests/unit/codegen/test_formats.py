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


def test_auto_stores_a_layer_behind_a_relu_by_column_where_that_saves_instructions():
    """Behind a ReLU the by-column kernel skips the zero inputs, so `auto` takes it when the
    cost model (at the assumed live share) says it is faster and it is still smaller than
    dense; the first layer (dense features) keeps the row form. Every choice stays
    smaller than dense packed."""
    model, _ = random_integer_model(seed=6, widths=(300, 256, 256, 8), bits=4, sparsity=0.9)
    first, hidden = model.layers[0], model.layers[1]
    assert formats.choose(first, "auto", after_relu=False) == "sparse"
    assert formats.choose(hidden, "auto", after_relu=True) == "colsparse"
    est = {f: formats.estimated_instructions(hidden, f, formats.RELU_LIVE)
           for f in ("sparse", "colsparse")}  # fmt: skip
    assert est["colsparse"] < est["sparse"]
    # with every input live the extra load and store per weight make it the slower one
    assert formats.estimated_instructions(hidden, "colsparse", 1.0) > est["sparse"]
    assert formats.choose(hidden, "fast", after_relu=False) != "colsparse"
    dense_ish = dataclasses.replace(hidden, codes=np.where(hidden.codes == 0, 1, hidden.codes)
                                    .astype(np.int8))  # fmt: skip
    assert formats.choose(dense_ish, "auto", after_relu=True) == "dense"


def test_the_plan_tells_auto_which_layers_sit_behind_a_relu():
    """The plan passes each layer whether its input is a ReLU's output (the previous layer
    clamps at zero): the first layer, on the caller's features, stays by row."""
    from ecqx.codegen.plan import plan

    model, _ = random_integer_model(seed=6, widths=(300, 256, 256, 8), bits=4, sparsity=0.9)
    assert [ly.out_min for ly in model.layers] == [0, 0, -128]
    formats_chosen = [c["format"] for c in plan(model, "auto").layers]
    assert formats_chosen[:2] == ["sparse", "colsparse"]


def test_a_layer_wider_than_the_sparse_windows_reach_is_stored_dense():
    """The 16-bit descriptors address 16 windows of 256: a layer with more columns cannot be
    sparse by row (nor one with more rows by column). `auto` and `fast` then take a dense
    form; forcing the sparse one says what to do instead."""
    model, _ = random_integer_model(seed=7, widths=(4100, 8, 4), bits=4, sparsity=0.97)
    wide = model.layers[0]
    assert formats.sparse_forms(wide) == ("colsparse",)
    assert "sparse" not in formats.layer_sizes(wide)
    assert formats.choose(wide, "auto") in ("colsparse", "dense")
    assert formats.choose(wide, "fast") != "sparse"
    tall = dataclasses.replace(wide, codes=np.ascontiguousarray(wide.codes.T))
    assert formats.sparse_forms(tall) == ("sparse",)
    from ecqx.codegen.plan import layer_context

    with pytest.raises(ValueError, match="4096.*--weights dense"):
        layer_context(0, wide, "sparse")

"""The NNC (DeepCABAC) bitstream decodes to exactly the integer model's codes."""

import numpy as np
from helpers import random_integer_model

from ecqx.export import nnr


def test_nnc_bitstream_round_trips_exactly(tmp_path):
    model, _ = random_integer_model(seed=30, widths=(64, 64, 10), sparsity=0.8)
    info = nnr.export(model, tmp_path / "m.nnc")
    back = nnr.decode((tmp_path / "m.nnc").read_bytes())
    for i, ly in enumerate(model.layers):
        assert np.array_equal(back[f"l{i}.weight"], ly.codes.astype(np.int32))
        assert np.array_equal(back[f"l{i}.bias"], ly.bias)
    assert info["compression_ratio"] > 4  # 4-bit and 80% sparse: far below float32

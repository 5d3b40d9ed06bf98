"""The integer model and its reference engine: requantization arithmetic, independent
recomputation, file format and the errors on bad input."""

from fractions import Fraction

import numpy as np
import pytest
import torch
from conftest import random_integer_model

from ecqx.integer import IntegerModel, IntegerModelError, engine
from ecqx.integer.build import check_overflow
from ecqx.integer.checkpoint import load_checkpoint, trained_model
from ecqx.integer.fakequant import fake_quant_predict
from ecqx.integer.requant import quantize_multiplier, requantize


@pytest.mark.parametrize("real", [1e-6, 0.0123, 0.49999, 0.5, 0.75, 0.999999, 1.5, 37.0])
def test_quantize_multiplier_is_accurate(real):
    m, shift = quantize_multiplier(real)
    assert 2**30 <= m < 2**31
    assert abs(m * 2.0 ** (shift - 31) - real) <= 2.0 ** (shift - 32)


def _gemmlowp(x: int, m: int, shift: int) -> int:
    """TFLite's double rounding written out with Python integers (independent of numpy)."""
    left, right = max(shift, 0), max(-shift, 0)
    a = x * (1 << left)
    ab = a * m
    nudge = (1 << 30) if ab >= 0 else 1 - (1 << 30)
    q = abs(ab + nudge) // (1 << 31)
    hi = q if ab + nudge >= 0 else -q
    mask = (1 << right) - 1
    rem = hi & mask
    threshold = (mask >> 1) + (1 if hi < 0 else 0)
    return (hi >> right) + (1 if rem > threshold else 0)


def test_requantize_matches_exact_arithmetic():
    rng = np.random.default_rng(1)
    for _ in range(50):
        m, shift = quantize_multiplier(float(rng.uniform(1e-4, 0.9)))
        acc = rng.integers(-(2**22), 2**22, 400)
        single = requantize(acc, m, shift, "single")
        double = requantize(acc, m, shift, "double")
        for a, s, d in zip(acc.tolist(), single.tolist(), double.tolist()):
            exact = Fraction(a * m, 2 ** (31 - shift))
            assert s == int(np.floor(exact + Fraction(1, 2)))  # half toward +inf
            assert d == _gemmlowp(a, m, shift)
            assert abs(d - exact) <= 1


def test_engine_equals_independent_rational_computation():
    model, feats = random_integer_model(seed=3)
    x = model.quantize_input(feats[:40])
    out = engine.run(model, x, all_layers=True)
    h = [list(map(int, row)) for row in x]
    for ly, got in zip(model.layers, out):
        M = Fraction(ly.multiplier, 2 ** (31 - ly.shift))
        nxt = []
        for row in h:
            acc = [
                int(ly.bias[j]) + sum(int(c) * v for c, v in zip(ly.codes[j], row))
                for j in range(ly.shape[0])
            ]
            y = [int(np.floor(a * M + Fraction(1, 2))) for a in acc]
            nxt.append([min(127, max(ly.out_min, v)) for v in y])
        assert np.array_equal(np.array(nxt), got), ly.name
        h = nxt


def test_multiplier_is_the_ratio_of_the_scales():
    model, _ = random_integer_model(seed=4)
    for ly in model.layers:
        real = float(np.float32(ly.in_scale)) * float(np.float32(ly.w_scale)) / ly.out_scale
        assert abs(ly.multiplier * 2.0 ** (ly.shift - 31) / real - 1) < 1e-9


@pytest.mark.parametrize("bits", [2, 3, 4, 5])
def test_pytorch_fake_quant_agrees_with_the_engine(bits):
    model, feats = random_integer_model(seed=bits, bits=bits, widths=(64, 48, 32, 10))
    rng = np.random.default_rng(0)
    x = model.quantize_input(rng.normal(0, 2, (3000, 64)).astype(np.float32))
    agree = (fake_quant_predict(model, x) == engine.predict(model, x)).mean()
    assert agree >= 0.999


def test_save_load_round_trip_and_identity(tmp_path):
    model, feats = random_integer_model(seed=5)
    model.save(tmp_path / "m.npz")
    back = IntegerModel.load(tmp_path / "m.npz")
    assert back.identity() == model.identity()
    x = model.quantize_input(feats)
    assert np.array_equal(engine.run(back, x), engine.run(model, x))
    assert back.labels == model.labels and back.rounding == "single"


def test_corrupt_and_truncated_files_are_refused(tmp_path):
    model, _ = random_integer_model(seed=6)
    model.save(tmp_path / "m.npz")
    data = (tmp_path / "m.npz").read_bytes()
    (tmp_path / "t.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(IntegerModelError, match="truncated or corrupt"):
        IntegerModel.load(tmp_path / "t.npz")
    with pytest.raises(IntegerModelError, match="no such"):
        IntegerModel.load(tmp_path / "missing.npz")
    model.layers[0].codes[0, 0] = 1 - model.layers[0].codes[0, 0]  # tamper after hashing
    arrays = dict(np.load(tmp_path / "m.npz").items())
    arrays["codes_0"] = model.layers[0].codes
    np.savez(tmp_path / "x.npz", **arrays)
    with pytest.raises(IntegerModelError, match="identity"):
        IntegerModel.load(tmp_path / "x.npz")


def test_bits_out_of_range_and_wrong_shapes_are_refused():
    model, feats = random_integer_model(seed=7)
    model.layers[1].bits = 6
    with pytest.raises(IntegerModelError, match="not supported"):
        model.validate()
    model.layers[1].bits = 4
    with pytest.raises(ValueError, match="int8"):
        engine.run(model, np.zeros((2, model.in_features + 1), np.int8))


def test_overflow_check_refuses_a_crafted_model():
    model, _ = random_integer_model(seed=8)
    check_overflow(model)  # the normal model passes
    ly = model.layers[0]
    ly.bias[:] = 2**31 - 1 - 10  # any non-zero input sum pushes the accumulator past int32
    with pytest.raises(IntegerModelError, match="overflow|accumulator"):
        check_overflow(model)


def test_checkpoint_errors_are_clear(tmp_path, tiny_trained):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model.pt").write_bytes(b"not a checkpoint at all")
    with pytest.raises(IntegerModelError, match="corrupt"):
        load_checkpoint(tmp_path / "bad")
    with pytest.raises(IntegerModelError, match="ecqx train"):
        load_checkpoint(tmp_path / "nothing")
    ck = load_checkpoint(tiny_trained)
    assert len(trained_model(ck).layers) == 7
    with pytest.raises(IntegerModelError, match="not quantized"):
        trained_model({**ck, "quantizer": None})
    conv = dict(ck["model"])
    conv["0.weight"] = torch.zeros(4, 3, 3, 3)
    with pytest.raises(IntegerModelError, match="fully-connected"):
        trained_model({**ck, "model": conv})

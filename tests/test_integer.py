"""The integer model and its reference engine: requantization arithmetic, independent
recomputation, file format and the errors on bad input."""

import json
import os
from fractions import Fraction

import numpy as np
import pytest
import torch
from helpers import random_integer_model

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


NAN = float("nan")


def _resave(path, out, edit_meta=None, edit_arrays=None):
    """Rewrite an integer model file with edited metadata/arrays, keeping its recorded hash."""
    arrays = dict(np.load(path).items())
    meta = json.loads(bytes(arrays["metadata.json"]).decode())
    if edit_meta:
        edit_meta(meta)
    if edit_arrays:
        edit_arrays(arrays)
    arrays["metadata.json"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(out, **arrays)
    return out


@pytest.mark.parametrize(
    ("what", "edit_meta", "edit_arrays", "message"),
    [
        ("std 0", None, lambda a: a["input_std"].fill(0), "std"),
        ("other std", None, lambda a: a.__setitem__("input_std", a["input_std"] * 2), "identity"),
        ("mean", None, lambda a: a.__setitem__("input_mean", a["input_mean"] + 1), "identity"),
        ("labels", lambda m: m["labels"].reverse(), None, "identity"),
        ("scale", lambda m: m.__setitem__("input_scale", m["input_scale"] * 2), None, "identity"),
        ("out scale", lambda m: m["layers"][0].__setitem__("out_scale", 1.0), None, "identity"),
        ("bits", lambda m: m["layers"][1].__setitem__("bits", 5), None, "identity"),
        ("shift -60", lambda m: m["layers"][0].__setitem__("shift", -60), None, "shift"),
        ("negative m", lambda m: m["layers"][0].__setitem__("multiplier", -5), None, "multiplier"),
        ("nan scale", lambda m: m["layers"][0].__setitem__("w_scale", NAN), None, "w_scale"),
        ("code 12 in 4 bits", None, lambda a: a["codes_0"].__setitem__((0, 0), -12), "grid"),
        ("bits as text", lambda m: m["layers"][0].__setitem__("bits", "four"), None, "malformed"),
    ],
)  # fmt: skip
def test_edited_integer_models_are_refused(tmp_path, what, edit_meta, edit_arrays, message):
    """Every field that changes the output is hashed, and every field is range-checked."""
    model, _ = random_integer_model(seed=9)
    model.save(tmp_path / "m.npz")
    bad = _resave(tmp_path / "m.npz", tmp_path / "bad.npz", edit_meta, edit_arrays)
    with pytest.raises(IntegerModelError, match=message):
        IntegerModel.load(bad)


def test_bit_flips_in_an_integer_model_file_never_escape_as_tracebacks(tmp_path):
    """Flip single bits all over a small model file: each load either fails with one
    IntegerModelError or yields a model with the original identity (a flip in a name)."""
    model, _ = random_integer_model(seed=10, widths=(12, 8, 3))
    model.save(tmp_path / "m.npz")
    data = bytearray((tmp_path / "m.npz").read_bytes())
    rng = np.random.default_rng(0)
    outcomes = {"refused": 0, "same": 0}
    for k in range(3000):
        flipped = bytearray(data)
        pos = int(rng.integers(len(data)))
        flipped[pos] ^= 1 << int(rng.integers(8))
        path = tmp_path / "f.npz"
        path.write_bytes(bytes(flipped))
        try:
            back = IntegerModel.load(path)
        except IntegerModelError:
            outcomes["refused"] += 1
            continue
        assert back.identity() == model.identity(), f"flip {k} at byte {pos} changed the model"
        outcomes["same"] += 1
    assert outcomes["refused"] > 1000


def test_unsigned_grid_codes_pack_without_wrapping():
    """A layer with no negative weights uses the unsigned grid 0..2^b-1; its dense fields
    must be wide enough (4-bit codes up to 15 need 8-bit two's-complement fields)."""
    from ecqx.export.sparse_format import pack_dense, storage_bits, unpack_dense

    codes = np.array([[0, 15, 8, 3], [1, 2, 9, 0]], np.int8)
    assert storage_bits(4, 15) == 8 and storage_bits(4, 7) == 4 and storage_bits(2, 3) == 4
    width = storage_bits(4, int(codes.max()))
    assert np.array_equal(unpack_dense(pack_dense(codes, 4), width, codes.shape), codes)
    model, _ = random_integer_model(seed=11)
    model.layers[0].codes[:] = np.abs(model.layers[0].codes) * 2  # 0..14: unsigned 4-bit
    model.validate()
    model.layers[0].codes[0, 0] = 16
    with pytest.raises(IntegerModelError, match="grid"):
        model.validate()


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    """torch.load(weights_only=False) would execute this pickle; ecqx must refuse it."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    (tmp_path / "m").mkdir()
    torch.save({"format": "ecqx-checkpoint", "x": Payload()}, tmp_path / "m" / "model.pt")
    with pytest.raises(IntegerModelError, match="refused"):
        load_checkpoint(tmp_path / "m")
    assert not marker.exists()


def test_incomplete_or_corrupt_checkpoints_are_clear_errors(tmp_path, tiny_trained):
    ck = load_checkpoint(tiny_trained)
    for key in ("input_norm", "labels", "metrics"):
        (tmp_path / key).mkdir()
        torch.save({k: v for k, v in ck.items() if k != key}, tmp_path / key / "model.pt")
        with pytest.raises(IntegerModelError, match=f"lacks {key}"):
            load_checkpoint(tmp_path / key)
    nan_bias = dict(ck["model"])
    nan_bias["0.bias"] = torch.full_like(nan_bias["0.bias"], float("nan"))
    with pytest.raises(IntegerModelError, match="non-finite bias"):
        trained_model({**ck, "model": nan_bias})
    zero_std = {**ck["input_norm"], "std": [0.0] * len(ck["input_norm"]["std"])}
    with pytest.raises(IntegerModelError, match="standard deviation"):
        trained_model({**ck, "input_norm": zero_std})

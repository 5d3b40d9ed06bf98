"""The integer model file: round trip, identity, and refusal of corrupt, edited or out-of-range
files."""

import json

import numpy as np
import pytest
from helpers import random_integer_model

from ecqx.integer import IntegerModel, IntegerModelError, engine

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

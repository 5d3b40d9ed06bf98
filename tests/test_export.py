"""Every exporter round-trips a small model and is checked against the reference engine."""

import dataclasses
import json
import shutil
import subprocess

import numpy as np
import onnx
import pytest
from helpers import C_FLAGS, random_integer_model

from ecqx.cli import main
from ecqx.export import c_headers, nnr, onnx_qdq, tflite_fc
from ecqx.export.sparse_format import (
    LAST_BIT,
    WINDOW,
    decode_descriptors,
    descriptors,
    encode_sparse,
    pack_dense,
    storage_bits,
    unpack_dense,
    window_order,
)
from ecqx.integer import engine
from ecqx.integer.equivalent import drop_dead_units, permute_units


@pytest.mark.parametrize("bits", [2, 3, 4, 5])
def test_sparse_and_packed_encodings_round_trip(bits):
    rng = np.random.default_rng(bits)
    hi = 2 ** (bits - 1) - 1
    codes = rng.integers(-hi, hi + 1, size=(9, 700)).astype(np.int8)
    codes[rng.random(codes.shape) < 0.97] = 0
    codes[0] = 0
    codes[1, 0] = hi
    codes[2, :300] = 1  # 300 equal codes: split at 255 weights per group
    enc = encode_sparse(codes)
    assert enc.counts.min() >= 1 and enc.counts.max() == 255
    ends = enc.bases.astype(int) + [
        int(enc.offsets[k + n - 1])
        for k, n in zip(
            np.concatenate(([0], np.cumsum(enc.counts.astype(int))[:-1])), enc.counts.astype(int)
        )
    ]
    assert (ends - enc.bases < WINDOW).all()
    # a code spread over 700 columns needs several windows
    assert enc.row_groups[1] > len(set(codes[1][codes[1] != 0].tolist()))
    # the empty row 0 is one placeholder group (code 0, one offset) so every row ends a group
    assert enc.row_groups[0] == 1 and enc.codes[0] == 0 and enc.counts[0] == 1
    assert enc.nbytes == 4 * enc.groups + int((codes != 0).sum()) + 1
    desc = descriptors(enc)
    assert int(((desc >> LAST_BIT) & 1).sum()) == codes.shape[0]
    assert np.array_equal(decode_descriptors(desc, enc.offsets, codes.shape), codes)
    with pytest.raises(ValueError, match="rows"):
        decode_descriptors(desc[:-1], enc.offsets, codes.shape)
    packed = pack_dense(codes, bits)
    width = storage_bits(bits)
    # 8-bit rows are plain bytes; narrower rows fill whole 32-bit words
    row_bytes = codes.shape[1] if width == 8 else 4 * -(-codes.shape[1] * width // 32)
    assert packed.size == codes.shape[0] * row_bytes
    assert np.array_equal(unpack_dense(packed, bits, codes.shape), codes)


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


def test_nnc_bitstream_round_trips_exactly(tmp_path):
    model, _ = random_integer_model(seed=30, widths=(64, 64, 10), sparsity=0.8)
    info = nnr.export(model, tmp_path / "m.nnc")
    back = nnr.decode((tmp_path / "m.nnc").read_bytes())
    for i, ly in enumerate(model.layers):
        assert np.array_equal(back[f"l{i}.weight"], ly.codes.astype(np.int32))
        assert np.array_equal(back[f"l{i}.bias"], ly.bias)
    assert info["compression_ratio"] > 4  # 4-bit and 80% sparse: far below float32


@pytest.mark.parametrize("fmt", ["sparse", "dense", "int8"])
def test_c_header_compiles_warning_free(tmp_path, fmt):
    model, _ = random_integer_model(seed=40)
    path, _ = c_headers.export(model, tmp_path, fmt)
    src = tmp_path / "use.c"
    src.write_text(
        '#include "ecqx_model_data.h"\n'
        "int main(void) { return (int)ecqx_l0_bias[0] + ECQX_NUM_CLASSES"
        " + (int)ecqx_labels[0][0]; }\n"
    )
    for cc in ("gcc", "arm-none-eabi-gcc"):
        assert shutil.which(cc), f"{cc} missing: run through scripts/test.sh"
        flags = [*C_FLAGS, "-c", "-o", str(tmp_path / "u.o")]
        proc = subprocess.run([cc, *flags, "-I", str(tmp_path), str(src)], capture_output=True)
        assert proc.returncode == 0, proc.stderr.decode()
    text = path.read_text()
    assert model.identity() in text and ("_offsets" in text) == (fmt == "sparse")


def test_export_command_on_a_trained_model(tiny_trained, tmp_path, capsys):
    out = tmp_path / "export"
    assert main(["export", "--model", str(tiny_trained), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "bit-exact with the integer reference" in printed
    report = json.loads((out / "export_report.json").read_text())
    for key in ("integer_model", "onnx", "tflite", "c_header", "nnc"):
        assert (out / report["files"][key].split("/")[-1]).is_file(), key
    assert report["agreement"]["onnxruntime_all"]["outputs_equal"] == 1.0
    assert report["agreement"]["litert_int8_weights"]["outputs_equal"] == 1.0
    assert report["agreement"]["tflm_vs_double_rounding"]["outputs_equal"] == 1.0
    assert report["agreement"]["pytorch_fake_quant_predictions"] >= 0.999
    assert report["nnc"]["compression_ratio"] > 1


def test_export_of_a_corrupt_checkpoint_fails_cleanly(tmp_path, capsys):
    (tmp_path / "model.pt").write_bytes(b"\x00" * 100)
    assert main(["export", "--model", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "corrupt" in capsys.readouterr().err


def test_dead_units_fold_into_the_next_bias_bit_exactly():
    """Rows without non-zero weights output a constant; removing them and folding that
    constant into the next layer changes no output, and shrinks the hidden widths."""
    model, _ = random_integer_model(seed=3, widths=(40, 32, 24, 6))
    model.layers[0].codes[[1, 5, 7]] = 0
    model.layers[1].codes[:] = 0  # a whole layer dead: one unit is kept
    small, dropped = drop_dead_units(model)
    assert dropped == [3, 23, 0] and [ly.shape for ly in small.layers] == [
        (29, 40),
        (1, 29),
        (6, 1),
    ]
    x = np.random.default_rng(0).integers(-128, 128, (200, 40)).astype(np.int8)
    assert np.array_equal(engine.run(small, x), engine.run(model, x))
    for a, b in zip(engine.run(small, x, True)[:-1], engine.run(model, x, True)[:-1]):
        assert a.shape[1] < b.shape[1]


def test_unit_order_changes_no_output_and_can_save_windows():
    model, _ = random_integer_model(seed=4, widths=(30, 400, 20, 5), sparsity=0.9)
    # the next layer uses only units 0..99 and 300..399: 400 columns apart, two windows
    model.layers[1].codes[:, 100:300] = 0
    before = encode_sparse(model.layers[1].codes).groups
    order = window_order(model.layers[1].codes)
    assert sorted(order.tolist()) == list(range(400))
    moved = permute_units(model, 0, order)
    assert encode_sparse(moved.layers[1].codes).groups < before
    x = np.random.default_rng(1).integers(-128, 128, (100, 30)).astype(np.int8)
    assert np.array_equal(engine.run(moved, x), engine.run(model, x))
    with pytest.raises(ValueError, match="permutation"):
        permute_units(model, 0, np.zeros(400, int))
    with pytest.raises(ValueError, match="hidden"):
        permute_units(model, 2, np.arange(5))


def test_fast_weights_follow_the_cost_model():
    """`fast` takes the encoding with the fewest estimated instructions: sparse for a very
    sparse layer, dense int8 for a nearly dense one (its SMLAD path beats packed fields)."""
    model, _ = random_integer_model(seed=5, widths=(300, 64, 8), bits=4, sparsity=0.95)
    sparse_layer = model.layers[0]
    dense_layer = dataclasses.replace(sparse_layer, codes=np.where(
        sparse_layer.codes == 0, 1, sparse_layer.codes).astype(np.int8))  # fmt: skip
    assert c_headers.choose(sparse_layer, "fast") == "sparse"
    assert c_headers.choose(dense_layer, "fast") == "int8"
    est = {f: c_headers.estimated_instructions(sparse_layer, f) for f in ("sparse", "int8")}
    assert est["sparse"] < est["int8"]
    with pytest.raises(ValueError, match="one of"):
        c_headers.choose(sparse_layer, "smallest")


def test_every_target_the_cli_offers_has_a_manager():
    from ecqx.export.choices import TARGETS
    from ecqx.export.targets import MANAGERS, merge

    assert tuple(MANAGERS) == TARGETS
    report = {"c_bytes": {"sparse": 1}, "layers": [{"name": "0"}, {"name": "2"}]}
    merge(report, {"c_bytes": {"chosen": 5}, "layers": [{"c_format": "a"}, {"c_format": "b"}],
                   "nnc": {"bytes": 3}})  # fmt: skip
    rows = [{"name": "0", "c_format": "a"}, {"name": "2", "c_format": "b"}]
    assert report == {"c_bytes": {"sparse": 1, "chosen": 5}, "nnc": {"bytes": 3}, "layers": rows}

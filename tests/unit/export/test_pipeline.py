"""`ecqx export` on a trained model: every target written and checked against the reference
engine, and a clear error for a corrupt checkpoint."""

import json
from pathlib import Path

from ecqx.cli import main
from ecqx.run import RunDir


def test_export_command_on_a_trained_model(tiny_trained, tmp_path, capsys):
    out = tmp_path / "export"
    assert main(["export", "--model", str(tiny_trained), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "bit-exact with the integer reference" in printed
    report = json.loads((out / "export_report.json").read_text())
    for key in ("integer_model", "onnx", "tflite", "c_sources", "nnc"):
        assert Path(report["files"][key]).is_file(), key
        assert Path(report["files"][key]).is_relative_to(out), key
    # the C model compiled on the host and ran the test split bit-exactly
    assert report["agreement"]["c_host"]["outputs_equal"] == 1.0
    assert report["top1"]["c_host"] == report["top1"]["integer"]
    for level in ("disable_all", "basic", "extended", "all"):
        # equal, or every differing int8 traced to a float32 near-tie (export/onnx_qdq.py)
        ag = report["agreement"][f"onnxruntime_{level}"]
        assert ag["outputs_equal"] == 1.0 or ag["unexplained"] == [], ag
        assert ag["max_abs_diff"] <= 1
    assert report["agreement"]["litert_int8_weights"]["outputs_equal"] == 1.0
    assert report["agreement"]["tflm_vs_double_rounding"]["outputs_equal"] == 1.0
    assert report["agreement"]["pytorch_fake_quant_predictions"] >= 0.999
    assert report["nnc"]["compression_ratio"] > 1


def test_export_of_a_corrupt_checkpoint_fails_cleanly(tmp_path, capsys):
    RunDir(tmp_path).checkpoint.write_bytes(b"\x00" * 100)
    assert main(["export", "--model", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "corrupt" in capsys.readouterr().err

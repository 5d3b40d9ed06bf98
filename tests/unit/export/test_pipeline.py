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
    for key in ("integer_model", "onnx", "tflite", "c_header", "c_example", "nnc"):
        assert Path(report["files"][key]).is_file(), key
        assert Path(report["files"][key]).is_relative_to(out), key
    # the C library compiled on the host and ran the test split bit-exactly, from features and
    # from audio; its example printed the reference's keywords
    lib = Path(report["files"]["c_library"])
    assert {"library.json", "library.properties", "README.md"} <= {p.name for p in lib.iterdir()}
    json.loads((lib / "library.json").read_text())
    ag = report["agreement"]
    for key in ("c_host", "c_host_front_end", "c_host_audio"):
        assert ag[key]["outputs_equal"] == 1.0, key
    assert ag["c_example"]["keywords_equal"] == 1.0 and ag["c_example"]["clips"] == 3
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


def test_double_rounding_makes_the_tflite_file_exact_in_tflite_micro(tiny_trained, tmp_path):
    out = tmp_path / "export"
    for target, rounding in (("tflite", "single"), ("tflite", "double"), ("c", "double")):
        assert main(["export", "--model", str(tiny_trained), "--out", str(out), "--target",
                     target, "--rounding", rounding]) == 0  # fmt: skip
        report = json.loads((out / "export_report.json").read_text())
        ag = report["agreement"]
        if target == "tflite":
            # TFLM's reference kernels (as built) round twice: exact only for the double model
            assert (ag["tflm"]["outputs_equal"] == 1.0) == (rounding == "double"), ag["tflm"]
        else:
            assert ag["c_host"]["outputs_equal"] == ag["c_host_audio"]["outputs_equal"] == 1.0


def test_mixed_precision_trains_exports_and_runs_bit_exactly_in_c(tiny_gsc, tmp_path):
    from ecqx.integer.from_run import build_integer

    run = tmp_path / "mixed"
    argv = ["train", "--data", str(tiny_gsc), "--out", str(run), "--epochs", "1",
            "--fp-epochs", "2", "--bit-budget", "3", "--lam", "4",
            "--lam-mode", "size"]  # fmt: skip
    assert main(argv) == 0
    metrics = json.loads(RunDir(run).metrics.read_text())
    bits = [r["bits"] for r in metrics["layers"]]
    sizes = [r["shape"][0] * r["shape"][1] for r in metrics["layers"]]
    assert len(set(bits)) > 1 and sum(b * n for b, n in zip(bits, sizes)) <= 3 * sum(sizes)
    _, _, im = build_integer(run, tiny_gsc)
    assert [ly.bits for ly in im.layers] == bits
    out = tmp_path / "export"
    assert main(["export", "--model", str(run), "--out", str(out), "--target", "c"]) == 0
    report = json.loads((out / "export_report.json").read_text())
    assert report["agreement"]["c_host"]["outputs_equal"] == 1.0
    assert [ly["bits"] for ly in report["layers"]] == bits

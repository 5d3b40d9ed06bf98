"""The ecqx command end to end on tiny data."""

import json
import subprocess
import sys

import numpy as np
import pytest

from ecqx.checkpoint import Checkpoint
from ecqx.cli import build_parser, main
from ecqx.data.gsc import LABELS
from ecqx.run import RunDir


def test_help_explains_every_command(capsys):
    for argv in (
        ["--help"],
        ["train", "--help"],
        ["data", "synth", "--help"],
        ["bench", "--help"],
        ["pipeline", "--help"],
    ):
        with pytest.raises(SystemExit) as e:
            main(argv)
        assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--lam" in out and "--bits" in out and "--size" in out


def test_bits_out_of_range_is_refused(capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["train", "--out", "x", "--bits", "6"])
    assert e.value.code == 2
    assert "2..5" in capsys.readouterr().err


def test_missing_data_folder_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "--data", str(tmp_path / "none"), "--out", str(tmp_path / "o")]) == 2
    assert "ecqx data synth" in capsys.readouterr().err


def test_train_end_to_end_on_tiny_data(tiny_gsc, tmp_path):
    out = tmp_path / "run"
    argv = [
        "train",
        "--data",
        str(tiny_gsc),
        "--out",
        str(out),
        "--epochs",
        "2",
        "--fp-epochs",
        "3",
        "--bits",
        "3",
        "--device",
        "cpu",
        "--lam",
        "16",
        "--lam-mode",
        "size",
    ]
    proc = subprocess.run(
        [sys.executable, "-m", "ecqx.cli", *argv], capture_output=True, text=True, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert "test top-1" in proc.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["top1_quantized"]) == {"training", "validation", "testing"}
    assert 0 <= metrics["sparsity"] <= 1 and len(metrics["layers"]) == 7
    assert len(metrics["qat_epoch_seconds"]) == 2 and metrics["device"] == "cpu"
    traj = metrics["qat_layer_sparsity"]
    assert len(traj) == 2 and all(len(e) == 7 and all(0 <= v <= 1 for v in e) for e in traj)
    assert traj[-1] == [round(r["sparsity"], 5) for r in metrics["layers"]]
    ckpt = Checkpoint.load(out)
    assert ckpt.config["bits"] == 3 and ckpt.labels == list(LABELS)
    for name, layer in ckpt.quantizer["layers"].items():
        codes, grid = layer["codes"], layer["grid"]
        assert codes.dtype == np.int8
        assert codes.min() >= grid["lo"] and codes.max() <= grid["hi"] <= 3
        w = ckpt.state[f"{name}.weight"]
        assert np.array_equal(w, codes.astype(np.float32) * np.float32(grid["step"]))
    # a second run reuses the cached float model instead of pre-training again
    fp_mtime = RunDir(out).fp_cache.stat().st_mtime
    assert main(argv) == 0
    assert RunDir(out).fp_cache.stat().st_mtime == fp_mtime


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [("--p", "2", "p (--p) must be 0..1, got 2.0"),
     ("--lam", "nan", "lam (--lam) must be a finite number >= 0"),
     ("--batch", "-4", "batch (--batch) must be an integer >= 1")],
)  # fmt: skip
def test_bad_training_option_names_the_field_and_its_range(tmp_path, capsys, option, value,
                                                          message):  # fmt: skip
    assert main(["train", "--out", str(tmp_path / "o"), option, value]) == 2
    err = capsys.readouterr().err
    assert message in err and "TrainConfig(" not in err


def test_fewer_epochs_than_the_warmup_warn(capsys):
    from ecqx.commands.options import config_from

    cfg = config_from(build_parser().parse_args(["train", "--out", "x", "--epochs", "2"]))
    assert cfg.epochs == 2
    assert "lambda only reaches 40%" in capsys.readouterr().err
    config_from(build_parser().parse_args(["train", "--out", "x", "--lam-warmup", "0"]))
    assert "warning" not in capsys.readouterr().err


def test_sweep_takes_the_lambda_warmup():
    assert build_parser().parse_args(["sweep", "--lam-warmup", "0"]).lam_warmup == 0
    assert build_parser().parse_args(["sweep"]).lam_warmup == 5


@pytest.mark.parametrize("argv", [["--limit", "0"], ["--limit", "-5"], ["--timeout", "-1"]])
def test_hil_counts_and_timeouts_must_be_positive(argv, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["hil", "--model", "m", "--board", "mps2-an386", *argv])
    assert e.value.code == 2 and "expected" in capsys.readouterr().err


def test_pipeline_puts_its_data_under_the_work_folder(tmp_path, monkeypatch):
    """`--work X` keeps the synthesized data in X (checked up to the synthesis call)."""
    import ecqx.data.synth as synth

    seen = {}

    def fake_generate(out, **kw):
        seen["out"] = out
        raise synth.DataError("stop here")

    monkeypatch.setattr(synth, "generate", fake_generate)
    assert main(["pipeline", "--work", str(tmp_path / "w"), "--size", "tiny"]) == 2
    assert seen["out"] == tmp_path / "w" / "gsc-synth"


def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys):
    f = tmp_path / "a-file"
    f.write_text("x")
    for argv in (["train", "--out", str(f)], ["data", "synth", "--out", str(f / "sub")],
                 ["export", "--model", "m", "--out", str(f)]):  # fmt: skip
        with pytest.raises(SystemExit) as e:
            build_parser().parse_args(argv)
        assert e.value.code == 2
    assert "is a file" in capsys.readouterr().err


def test_export_board_is_checked_by_the_parser(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["export", "--model", "m", "--target", "cortex-m",
                                   "--board", "mps2-an999"])  # fmt: skip
    assert "mps2-an386" in capsys.readouterr().err


def test_two_writers_into_one_folder_are_refused(tmp_path):
    from ecqx.files import OutputError, exclusive

    with exclusive(tmp_path, "export"):
        with pytest.raises(OutputError, match="another export is writing"):
            with exclusive(tmp_path, "export"):
                pass
    with exclusive(tmp_path, "export"):  # released afterwards
        pass


def test_an_interrupted_firmware_export_leaves_no_stale_report(tiny_trained, tmp_path,
                                                               monkeypatch):  # fmt: skip
    import ecqx.codegen.firmware_build as fb
    from ecqx.run import ExportDir

    out = tmp_path / "export"
    out.mkdir()
    report = ExportDir(out).firmware_report
    report.write_text(json.dumps({"elf": "old.elf"}))

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(fb, "build", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fb.export_cortex_m(tiny_trained, out)
    assert not report.exists()


def test_bench_times_a_conv_net(capsys):
    argv = ["bench", "--arch", "vgg16bn", "--width", "0.0625", "--batch", "2", "--repeats", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "vgg16bn x0.0625" in out and "ECQx / ECQ" in out and "every 8th step / ECQ" in out

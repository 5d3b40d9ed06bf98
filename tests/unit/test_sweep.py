"""ecqx sweep on tiny data through Ray with 2 workers: grid, one shared pre-training per seed,
resume, a failed point, tables and figures."""

import csv
import json

import pytest

from ecqx.cli import main
from ecqx.run import RunDir
from ecqx.sweep import fp_cache, grid


def test_grid_gives_ecq_one_point_per_lambda():
    pts = grid(["ecq", "ecqx"], [2, 4], [1.0, 8.0], [0.1, 0.3])
    assert len([p for p in pts if p.method == "ecq"]) == 4
    assert len([p for p in pts if p.method == "ecqx"]) == 8
    assert len({p.name for p in pts}) == len(pts)
    seeded = grid(["ecq"], [4], [1.0], [0.1], seeds=[0, 1, 2])
    assert [p.seed for p in seeded] == [0, 1, 2] and len({p.name for p in seeded}) == 3


def test_sweep_trains_resumes_and_draws(tiny_gsc, tmp_path, capsys):
    argv = ["sweep", "--data", str(tiny_gsc), "--out", str(tmp_path), "--bits", "2,4",
            "--lams", "2,32", "--epochs", "1", "--fp-epochs", "2", "--seeds", "0,1",
            "--workers", "2"]  # fmt: skip
    assert main(argv) == 0
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert len(rows) == 16 and {r["method"] for r in rows} == {"ecq", "ecqx"}
    assert {r["seed"] for r in rows} == {"0", "1"}
    summary = list(csv.DictReader((tmp_path / "summary.csv").open()))
    assert len(summary) == 8 and {s["n"] for s in summary} == {"2"}
    for s in summary:
        key = (s["method"], s["bits"], s["lam"])
        same = [float(r["sparsity"]) for r in rows if (r["method"], r["bits"], r["lam"]) == key]
        assert float(s["sparsity_mean"]) == pytest.approx(sum(same) / 2, abs=1e-5)
        assert float(s["sparsity_std"]) == pytest.approx(abs(same[0] - same[1]) / 2**0.5, abs=1e-5)
    for r in rows:
        assert 0 <= float(r["sparsity"]) <= 1 and int(r["nnc_bytes"]) > 0
        assert float(r["top1_quantized"]) >= 0 and float(r["qat_epoch_seconds"]) > 0
    # one pre-training per seed, none in the run folders; the seeds' float models differ
    fps = [fp_cache(tmp_path, s) for s in (0, 1)]
    assert all(f.is_file() for f in fps) and not list((tmp_path / "runs").glob("*/fp*.npz"))
    assert len({r["top1_float"] for r in rows if r["seed"] == "0"}) == 1
    assert fps[0].read_bytes() != fps[1].read_bytes()
    # larger lambda, sparser (same method and bits)
    by = {(r["method"], r["bits"], float(r["lam"])): float(r["sparsity"])
          for r in rows if r["seed"] == "0"}  # fmt: skip
    for m in ("ecq", "ecqx"):
        for b in ("2", "4"):
            assert by[(m, b, 32.0)] >= by[(m, b, 2.0)]
    for f in ("fig7_top1_vs_sparsity_4bit.png", "fig9_top1_vs_size.png",
              "fig4_weight_vs_relevance_input_layer.png",
              "fig4_weight_vs_relevance_output_layer.png",
              "layer_sparsity_trajectories.png"):  # fmt: skip
        assert (tmp_path / f).stat().st_size > 5000, f
    assert set(json.loads((tmp_path / "working_points.json").read_text())) == {"ecq", "ecqx"}
    assert (tmp_path / "summary.md").read_text().count("\n| ecq") == 8
    capsys.readouterr()
    # resume: nothing is trained again
    stamp = {
        p: p.stat().st_mtime
        for p in (tmp_path / "runs").glob(f"*/{RunDir(tmp_path).checkpoint.name}")
    }
    assert main(argv) == 0
    assert "training" not in capsys.readouterr().out
    assert stamp == {
        p: p.stat().st_mtime
        for p in (tmp_path / "runs").glob(f"*/{RunDir(tmp_path).checkpoint.name}")
    }


def test_a_failed_point_is_reported_and_the_others_are_kept(tiny_gsc, tmp_path, capsys):
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "ecq-b4-lam32-p0-s0").write_text("a file where the run folder goes")
    argv = ["sweep", "--data", str(tiny_gsc), "--out", str(tmp_path), "--methods", "ecq",
            "--lams", "2,32", "--epochs", "1", "--fp-epochs", "1", "--workers", "2"]  # fmt: skip
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "1 job(s) failed" in err and "ecq-b4-lam32-p0-s0" in err
    rows = list(csv.DictReader((tmp_path / "results.csv").open()))
    assert [r["run"] for r in rows] == ["ecq-b4-lam2-p0-s0"]


@pytest.mark.parametrize("bad", [["--methods", "ecq,foo"], ["--bits", "4,7"]])
def test_sweep_refuses_bad_grids(tmp_path, bad, capsys):
    try:
        rc = main(["sweep", "--out", str(tmp_path), *bad])
    except SystemExit as e:
        rc = e.code
    assert rc == 2
    assert "error" in capsys.readouterr().err

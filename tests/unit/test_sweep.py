"""ecqx sweep on tiny data through Ray with 2 workers: grid, one shared pre-training per seed,
resume, a failed point, tables and figures."""

import csv
import json

import pytest

from ecqx.cli import main
from ecqx.run import RunDir
from ecqx.sweep import fp_cache, grid, matched_sparsity, working_points


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


def test_working_points_pick_the_sparsest_within_the_allowed_loss():
    def pt(method, lam, sparsity, top1, n=3):
        return {"method": method, "bits": 4, "lam": lam, "p": 0.1, "n": n,
                "sparsity_mean": sparsity, "top1_quantized_mean": top1,
                "top1_float_mean": 0.80}  # fmt: skip

    summary = [pt("ecqx", 1, 0.3, 0.82), pt("ecqx", 2, 0.5, 0.80), pt("ecqx", 3, 0.7, 0.795),
               pt("ecqx", 4, 0.9, 0.70), pt("ecqx", 5, 0.8, 0.85, n=1),
               pt("ecq", 1, 0.4, 0.78)]  # fmt: skip
    picks = working_points(summary)
    assert picks["ecqx"]["no_loss"]["lam"] == 2  # one seed at lam 5 does not count
    assert picks["ecqx"]["small_and_fast"]["lam"] == 3
    assert picks["ecq"]["no_loss"] is None and picks["ecq"]["small_and_fast"] is None


def test_matched_sparsity_interpolates_each_seed_and_spreads_over_seeds():
    def run(method, seed, sparsity, top1):
        return {"method": method, "bits": 4, "p": 0.1 if method == "ecqx" else 0.0,
                "seed": seed, "sparsity": sparsity, "top1_quantized": top1}  # fmt: skip

    rows = [run("ecq", 0, 0.2, 0.80), run("ecq", 0, 0.6, 0.76),
            run("ecqx", 0, 0.3, 0.82), run("ecqx", 0, 0.5, 0.80),
            run("ecq", 1, 0.2, 0.80), run("ecq", 1, 0.6, 0.72),
            run("ecqx", 1, 0.3, 0.80), run("ecqx", 1, 0.5, 0.78)]  # fmt: skip
    (c,) = matched_sparsity(rows, levels=(0.4,))
    # seed 0: ECQ 0.78, ECQx 0.81 (+3 pp); seed 1: ECQ 0.76, ECQx 0.79 (+3 pp)
    assert c["seeds"] == 2 and c["diff_mean"] == pytest.approx(0.03)
    assert c["diff_std"] == pytest.approx(0.0, abs=1e-12)
    assert matched_sparsity(rows, levels=(0.55,)) == []  # beyond ECQx's range: no extrapolation


@pytest.mark.parametrize("bad", [["--methods", "ecq,foo"], ["--bits", "4,7"]])
def test_sweep_refuses_bad_grids(tmp_path, bad, capsys):
    try:
        rc = main(["sweep", "--out", str(tmp_path), *bad])
    except SystemExit as e:
        rc = e.code
    assert rc == 2
    assert "error" in capsys.readouterr().err

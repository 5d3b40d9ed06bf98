"""`ecqx holdout` on tiny data: trains without one engine family and tests on it."""

import csv

from ecqx.cli import main
from ecqx.data.gsc import LABELS, SILENCE, SPLITS, GSCData
from ecqx.holdout import RESULTS


def test_leave_one_family_out_through_the_cli(tiny_gsc, tmp_path, capsys):
    argv = ["holdout", "--data", str(tiny_gsc), "--out", str(tmp_path), "--families",
            "festival", "--epochs", "1", "--fp-epochs", "2", "--lam-warmup", "1"]  # fmt: skip
    assert main(argv) == 0
    assert "| festival | espeak+flite |" in capsys.readouterr().out
    rows = list(csv.DictReader((tmp_path / RESULTS).open()))
    assert [r["held_out"] for r in rows] == ["festival"]
    held = GSCData(tiny_gsc, families=("festival",), progress=False)
    voiced = sum(int((held.labels(s) != LABELS.index(SILENCE)).sum()) for s in SPLITS)
    assert int(rows[0]["held_out_clips"]) == voiced > 0
    for k in ("held_out_float", "held_out_quantized", "in_domain_float", "in_domain_quantized"):
        assert 0 <= float(rows[0][k]) <= 1, k
    # resumable: a second call trains nothing
    run = tmp_path / "without-festival" / "model.npz"
    stamp = run.stat().st_mtime
    assert main(argv) == 0
    assert run.stat().st_mtime == stamp


def test_holdout_refuses_an_unknown_family(tmp_path, capsys):
    try:
        rc = main(["holdout", "--out", str(tmp_path), "--families", "sam"])
    except SystemExit as e:
        rc = e.code
    assert rc == 2 and "engine family must be one of" in capsys.readouterr().err

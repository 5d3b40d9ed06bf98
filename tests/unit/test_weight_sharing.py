"""`ecqx share`: k-means and the uniform grid at equal centroid counts on a run's float model."""

import csv

from ecqx.cli import main


def test_share_command_compares_both_at_each_width(tiny_trained, tmp_path, capsys):
    out = tmp_path / "new" / "folder"
    assert main(["share", "--model", str(tiny_trained), "--bits", "2,4", "--out", str(out)]) == 0
    rows = list(csv.DictReader((out / "weight_sharing.csv").open()))
    assert [(r["bits"], r["method"]) for r in rows] == [
        ("32", "float"),
        ("2", "uniform"),
        ("2", "kmeans"),
        ("4", "uniform"),
        ("4", "kmeans"),
    ]
    by = {(r["bits"], r["method"]): r for r in rows}
    assert int(by["4", "kmeans"]["nnc_bytes"]) > int(by["2", "kmeans"]["nnc_bytes"]) > 0
    assert all(0 <= float(r["top1"]) <= 1 for r in rows)
    assert "kmeans" in capsys.readouterr().out

"""`ecqx prune`: the requested share goes, removed units stay dead, and the result exports."""

import json

import numpy as np
import pytest

from ecqx.checkpoint import Checkpoint
from ecqx.cli import main
from ecqx.config import ConfigError
from ecqx.integer import conv_engine
from ecqx.integer.conv_model import ConvIntegerModel
from ecqx.prune import prune


@pytest.mark.parametrize("criterion", ["lrp", "magnitude"])
def test_unstructured_pruning_of_an_mlp_removes_the_share_and_exports(
    tiny_trained, tmp_path, criterion
):
    out = tmp_path / criterion
    m = prune(tiny_trained, out, 0.6, "weights", criterion, epochs=1, progress=False)
    assert m["prune"]["removed_share"] == pytest.approx(0.6, abs=1e-3)
    # the entropy term sees the live weights only, so the removed ones do not drag the rest
    assert m["config"]["lam"] == m["prune"]["source_config"]["lam"] == 16
    assert m["prune"]["sparsity_pruned"] >= 0.6 and m["sparsity"] < 0.9
    ck = Checkpoint.load(out)
    for name, layer in ck.quantizer["layers"].items():
        codes = np.asarray(layer["codes"])
        assert (codes == 0).mean() >= 0.6 - 1 / codes.size, name  # masked codes stayed 0
    assert main(["export", "--model", str(out), "--target", "onnx",
                 "--out", str(tmp_path / f"export-{criterion}")]) == 0  # fmt: skip


def test_structured_pruning_of_vgg_filters_kills_them_in_every_export(tiny_vgg, tmp_path, capsys):
    out = tmp_path / "units"
    argv = ["prune", "--model", str(tiny_vgg), "--out", str(out), "--ratio", "0.5",
            "--structure", "units", "--criterion", "lrp", "--epochs", "1"]  # fmt: skip
    assert main(argv) == 0
    assert "removed" in capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    ck = Checkpoint.load(out)
    first = np.asarray(ck.quantizer["layers"]["0"]["codes"])
    dead = ~first.reshape(len(first), -1).any(1)
    assert metrics["prune"]["removed_units"][0] == len(first) // 2 <= int(dead.sum())
    assert metrics["prune"]["removed_units"][-1] == 0  # the classes stay
    gamma = np.asarray(ck.state["1.weight"])
    assert (gamma[dead] == 0).all() and (np.asarray(ck.state["1.bias"])[dead] == 0).all()
    assert main(["export", "--model", str(out), "--out", str(tmp_path / "e")]) == 0
    im = ConvIntegerModel.load(tmp_path / "e" / "integer_model.npz")
    x = im.quantize_input(np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), np.uint8))
    first_out = conv_engine.run(im, x, all_ops=True)[0]
    assert not first_out[:, dead].any()  # removed filters output exactly 0


def test_bad_requests_are_refused(tiny_trained, tmp_path):
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        prune(tiny_trained, tmp_path / "a", 1.5, progress=False)
    with pytest.raises(ConfigError, match="--criterion"):
        prune(tiny_trained, tmp_path / "b", 0.5, criterion="random", progress=False)

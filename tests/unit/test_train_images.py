"""Conv-net training through `ecqx train --arch`, and its export."""

import json

import numpy as np
import torch

from ecqx.checkpoint import Checkpoint
from ecqx.cli import main
from ecqx.train_images import PAD, random_crops


def test_random_crops_shift_each_image_within_the_padding():
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.float32).reshape(2, 3, 8, 8)
    a = random_crops(x, np.random.default_rng(0))
    assert a.shape == x.shape
    assert torch.equal(a, random_crops(x, np.random.default_rng(0)))
    assert not torch.equal(a, x)
    # the centre pixel of a crop is a pixel of the original within PAD rows/columns
    for n in range(2):
        found = (x[n, 0] == a[n, 0, 4, 4]).nonzero()
        assert len(found) == 1 and (found[0] - torch.tensor([4, 4])).abs().max() <= PAD


def test_train_command_trains_a_conv_net(tiny_images, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--arch", "vgg16", "--width", "0.0625", "--data", str(tiny_images),
            "--out", str(out), "--fp-epochs", "1", "--epochs", "1",
            "--lam-warmup", "1"]  # fmt: skip
    assert main(argv) == 0
    assert "test top-1" in capsys.readouterr().out
    ck = Checkpoint.load(out)
    assert ck.architecture["name"] == "vgg16" and ck.labels == [str(i) for i in range(10)]
    assert len(ck.quantizer["layers"]) == 14  # 13 convs + the classifier
    m = json.loads((out / "metrics.json").read_text())
    assert m["config"]["arch"] == "vgg16" and 0 < m["sparsity"] < 1


def test_train_command_asks_for_image_data(capsys):
    assert main(["train", "--arch", "vgg16bn", "--out", "/tmp/unused-ecqx-run"]) == 2
    assert "pass --data" in capsys.readouterr().err


def test_export_of_a_conv_run(tiny_vgg, tmp_path, capsys):
    out = tmp_path / "export"
    assert main(["export", "--model", str(tiny_vgg), "--out", str(out)]) == 0
    report = json.loads((out / "export_report.json").read_text())
    assert report["architecture"]["name"] == "vgg16bn"
    for level in report["agreement"]["onnx"].values():
        assert not level["unexplained"] and level["outputs_equal"] >= 0.9
    assert report["nnc"]["bytes"] > 0 and (out / "model.onnx").is_file()
    assert report["agreement"]["pytorch_predictions"] >= 0.8
    assert "BatchNorm folded" in capsys.readouterr().out
    argv = ["export", "--model", str(tiny_vgg), "--out", str(tmp_path / "c"), "--target", "c"]
    assert main(argv) == 2
    assert "conv nets export to onnx and nnr" in capsys.readouterr().err

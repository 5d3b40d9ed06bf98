"""The conv integer model: BatchNorm folded exactly at export, the reference engine, its file
format, and ONNX Runtime against it."""

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from ecqx.checkpoint import Checkpoint
from ecqx.data.images import load_images
from ecqx.export import onnx_conv
from ecqx.integer import conv_engine
from ecqx.integer.conv_build import FoldedLayer, build_conv, fold
from ecqx.integer.conv_model import ConvIntegerModel, ConvOp
from ecqx.integer.model import IntegerModelError
from ecqx.model import vision


def trained_net(ck):
    a = ck.architecture
    net = vision.build(a["name"], a["num_classes"], a["width"])
    net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in ck.state.items()})
    return net.eval().double()


def test_batchnorm_folds_exactly_into_channel_scales_and_bias(tiny_vgg):
    ck = Checkpoint.load(tiny_vgg)
    net = trained_net(ck)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net)  # not folded during QAT
    # make BN non-trivial, negative scales included
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        bn = net[1]
        bn.weight.copy_(torch.randn(bn.num_features, generator=g, dtype=torch.float64))
        bn.running_mean.copy_(torch.randn(bn.num_features, generator=g, dtype=torch.float64))
    ck = dataclasses.replace(ck, state={k: v.float() if v.is_floating_point() else v
                                        for k, v in net.state_dict().items()})  # fmt: skip
    ck.state = {k: v.numpy() for k, v in ck.state.items()}
    net = trained_net(ck)
    plan = fold(ck)
    first = plan[0]
    assert isinstance(first, FoldedLayer) and first.relu
    x = torch.randn(3, 3, 32, 32, generator=g, dtype=torch.float64)
    want = net[2](net[1](net[0](x)))  # conv, BN, ReLU in PyTorch
    w = torch.from_numpy(first.codes.astype(np.float64) * first.scale.reshape(-1, 1, 1, 1))
    got = F.relu(F.conv2d(x, w, torch.from_numpy(first.bias), padding=first.padding))
    assert torch.allclose(got, want, atol=1e-5)
    # the codes are the trained ones (up to the sign BN's scale moved into them)
    trained = np.asarray(ck.quantizer["layers"]["0"]["codes"])
    assert np.array_equal(np.abs(first.codes), np.abs(trained))
    assert (first.codes != trained).any()


def test_engine_file_and_onnx_runtime_agree(tiny_vgg, tiny_images, tmp_path):
    ck = Checkpoint.load(tiny_vgg)
    data = load_images(tiny_images)
    model = build_conv(ck, data.images["train"][:64])
    path = tmp_path / "conv.npz"
    model.save(path)
    back = ConvIntegerModel.load(path)
    assert back.identity() == model.identity()
    x = back.quantize_input(data.images["test"])
    ref = conv_engine.run(back, x)
    assert ref.dtype == np.int8 and ref.shape == (len(x), 10)
    onnx_path = onnx_conv.export(back, tmp_path / "conv.onnx")
    for level in onnx_conv.LEVELS:
        got = onnx_conv.run(onnx_path, data.images["test"], level)
        ties = onnx_conv.near_ties(back, onnx_path, data.images["test"], level)
        assert not ties["unexplained"]
        differing = int((got != ref).any(1).sum())
        assert ties["differing_samples"] >= differing  # every differing image was traced
        assert differing <= len(x) // 10


def test_a_real_error_is_not_excused_as_a_near_tie(tiny_vgg, tiny_images, tmp_path):
    ck = Checkpoint.load(tiny_vgg)
    data = load_images(tiny_images)
    model = build_conv(ck, data.images["train"][:64])
    onnx_path = onnx_conv.export(model, tmp_path / "conv.onnx")
    wrong = dataclasses.replace(model, ops=list(model.ops))
    op = wrong.ops[0]
    wrong.ops[0] = dataclasses.replace(op, bias=op.bias + 50)
    ties = onnx_conv.near_ties(wrong, onnx_path, data.images["test"][:8], "all")
    assert ties["unexplained"]


def test_corrupt_files_and_unsupported_layers_are_refused(tiny_vgg, tiny_images, tmp_path):
    ck = Checkpoint.load(tiny_vgg)
    model = build_conv(ck, load_images(tiny_images).images["train"][:32])
    path = tmp_path / "conv.npz"
    model.save(path)
    raw = dict(np.load(path, allow_pickle=False))
    raw["codes_0"] = raw["codes_0"].copy()
    raw["codes_0"].flat[0] ^= 1
    np.savez(tmp_path / "tampered.npz", **raw)
    with pytest.raises(IntegerModelError, match="identity"):
        ConvIntegerModel.load(tmp_path / "tampered.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(IntegerModelError, match="not a readable"):
        ConvIntegerModel.load(tmp_path / "junk.npz")


def test_unsupported_layers_are_named(tiny_vgg, monkeypatch):
    ck = Checkpoint.load(tiny_vgg)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Dropout(), torch.nn.Flatten())
    monkeypatch.setitem(vision.BUILDERS, "odd", lambda n, w: net)
    state = {k: v.numpy() for k, v in net.state_dict().items()}
    odd = dataclasses.replace(ck, architecture={**ck.architecture, "name": "odd"}, state=state)
    with pytest.raises(IntegerModelError, match=r"layer 1 \(Dropout\) is not supported"):
        fold(odd)


def test_resnet_blocks_reach_the_integer_model_and_onnx(tiny_resnet, tiny_images, tmp_path):
    from ecqx.export.conv_pipeline import torch_predictions

    ck = Checkpoint.load(tiny_resnet)
    data = load_images(tiny_images)
    model = build_conv(ck, data.images["train"][:64])
    kinds = [(op.kind, op.branch) for op in model.ops]
    assert kinds.count(("fork", "main")) == kinds.count(("add", "main")) == 8
    assert kinds.count(("conv", "shortcut")) == 3 and ("avgpool", "main") in kinds
    model.save(tmp_path / "r.npz")
    model = ConvIntegerModel.load(tmp_path / "r.npz")
    ref = conv_engine.run(model, model.quantize_input(data.images["test"]))
    agree = (torch_predictions(ck, data.images["test"]) == ref.argmax(1)).mean()
    assert agree >= 0.75  # BN folded, int8 activations; a barely trained net has close calls
    path = onnx_conv.export(model, tmp_path / "r.onnx")
    for level in onnx_conv.LEVELS:
        ties = onnx_conv.near_ties(model, path, data.images["test"], level)
        assert not ties["unexplained"]
        got = onnx_conv.run(path, data.images["test"], level)
        assert int((got != ref).any(1).sum()) <= ties["differing_samples"]


def test_residual_add_is_the_correctly_rounded_sum():
    from ecqx.integer.conv_build import _add_op
    from ecqx.integer.conv_engine import add

    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (64, 4, 3, 3)).astype(np.int8)
    b = rng.integers(-128, 128, (64, 4, 3, 3)).astype(np.int8)
    op = _add_op(ConvOp(kind="add", name="t", relu=False), a, 0.037, b, 0.011)
    exact = (a.astype(np.float64) * 0.037 + b.astype(np.float64) * 0.011) / op.out_scale
    want = np.clip(np.floor(exact + 0.5), -128, 127)
    got = add(op, a, b)
    off = got != want
    # only where the 31-bit multipliers' error can reach a half
    assert np.abs(exact[off] - np.floor(exact[off]) - 0.5).max(initial=0) < 1e-6
    assert off.mean() < 0.001

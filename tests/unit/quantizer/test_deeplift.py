"""The DeepLIFT criterion against Captum: a weight's relevance summed over its row is Captum's
attribution of the layer's output, summed over its column Captum's attribution of the layer's
input (DeepLIFT multipliers pass through a linear map unchanged)."""

import pytest
import torch
from captum.attr import LayerDeepLift
from torch import nn

from ecqx.model import mlp_gsc
from ecqx.quantizer import Quantizer
from ecqx.quantizer.relevance import DeepLIFT, criterion_for


def tiny():
    torch.manual_seed(0)
    model = mlp_gsc(in_features=20, num_classes=4, hidden=(16, 8)).double()
    g = torch.Generator().manual_seed(1)
    x = torch.randn(10, 20, dtype=torch.float64, generator=g)
    return model, x, torch.randint(0, 4, (10,), generator=g)


def test_deeplift_weight_relevance_aggregates_to_captums_layer_attributions():
    model, x, y = tiny()
    layers = [m for m in model if isinstance(m, nn.Linear)]
    relevance = DeepLIFT()(model, layers, x, y, None)
    zero = torch.zeros_like(x)
    for layer, r in zip(layers, relevance, strict=True):
        assert r.shape == layer.weight.shape
        out = LayerDeepLift(model, layer).attribute(x, baselines=zero, target=y)
        inp = LayerDeepLift(model, layer).attribute(
            x, baselines=zero, target=y, attribute_to_layer_input=True
        )
        assert torch.allclose(r.sum(1), out.sum(0), atol=1e-10)
        assert torch.allclose(r.sum(0), inp.sum(0), atol=1e-10)
        assert r.abs().sum() > 0


def test_deeplift_on_convolutions_sums_to_captums_attributions():
    torch.manual_seed(0)
    conv = nn.Sequential(
        nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(4, 3),
    ).double().eval()  # fmt: skip
    x = torch.randn(5, 2, 8, 8, dtype=torch.float64)
    y = torch.tensor([0, 1, 2, 0, 1])
    layers = [conv[0], conv[4], conv[7]]
    relevance = DeepLIFT()(conv, layers, x, y, None)
    zero = torch.zeros_like(x)
    for layer, r in zip(layers, relevance, strict=True):
        assert r.shape == layer.weight.shape and r.abs().sum() > 0
        inp = LayerDeepLift(conv, layer).attribute(
            x, baselines=zero, target=y, attribute_to_layer_input=True
        )
        # summed over output channels and kernel taps: the attribution of each input channel
        dims = [0] + list(range(2, r.dim()))
        assert torch.allclose(r.sum(dims), inp.sum([0] + list(range(2, inp.dim()))), atol=1e-9)


def test_deeplift_drives_ecqx_training():
    model, x, y = tiny()
    model = model.float()
    q = Quantizer(
        model, bits=4, lam=4.0, lam_mode="size", criterion=criterion_for("ecqx", "deeplift")
    )
    for _ in range(3):
        q.step(x.float(), y)
    assert all(s.relevance is not None and s.relevance.max() == pytest.approx(1.0, abs=0.5)
               for s in q.layers)  # fmt: skip
    pool = nn.Sequential(nn.Flatten(), nn.Linear(4, 2), nn.LayerNorm(2))
    with pytest.raises(ValueError, match="Linear and Conv"):
        DeepLIFT()(pool, [pool[2]], torch.randn(2, 4), torch.tensor([0, 1]), None)

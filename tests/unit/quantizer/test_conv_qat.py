"""ECQ/ECQx QAT of a conv net with BatchNorm: BN trains in float beside the quantized convs
(never folded during QAT), and every criterion drives the loss down and the sparsity up."""

import pytest
import torch
from torch import nn

from ecqx.quantizer import Quantizer
from ecqx.quantizer.relevance import criterion_for


def conv_bn_net():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8),
        nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8 * 4 * 4, 3),
    )  # fmt: skip


def stripes(n=96, seed=0):
    """Three classes of 16x16 images: horizontal, vertical or no stripes, plus noise."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    base = torch.zeros(n, 1, 16, 16)
    base[y == 0, :, ::3, :] = 1.0
    base[y == 1, :, :, ::3] = 1.0
    return base + 0.3 * torch.randn(n, 1, 16, 16, generator=g), y


@pytest.mark.parametrize(("method", "criterion"), [("ecq", "lrp"), ("ecqx", "lrp"),
                         ("ecqx", "deeplift"), ("ecqx", "gradxw")])  # fmt: skip
def test_conv_bn_qat_lowers_loss_and_reaches_sparsity(method, criterion):
    net = conv_bn_net()
    x, y = stripes()
    q = Quantizer(net, bits=4, lam=8.0, lam_mode="size", p=0.2,
                  criterion=criterion_for(method, criterion), lr=3e-3)  # fmt: skip
    bn = net[1]
    stats = bn.running_mean.clone()
    losses = [q.step(x, y).loss for _ in range(40)]
    assert sum(losses[-5:]) / 5 < 0.7 * sum(losses[:5]) / 5
    assert q.sparsity() >= 0.2  # lambda 0 leaves 7.5% (ECQ)
    # BatchNorm is still its own layer and kept learning its batch statistics
    assert isinstance(net[1], nn.BatchNorm2d) and not torch.equal(stats, bn.running_mean)
    for s in q.layers:  # the convs hold exactly their codes times the step
        assert torch.equal(s.module.weight, s.codes.float() * s.grid.step)

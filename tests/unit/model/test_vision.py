"""The papers' conv nets in their CIFAR form, at reduced width."""

import pytest
import torch
from torch import nn

from ecqx.config import IMAGE_ARCHS
from ecqx.model import vision
from ecqx.quantizer.qat import quantizable_layers


@pytest.mark.parametrize("arch", IMAGE_ARCHS)
def test_each_architecture_maps_32x32_images_to_class_scores(arch):
    net = vision.build(arch, num_classes=10, width=0.125).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)
    layers = quantizable_layers(net)
    convs = [m for _, m in layers if isinstance(m, nn.Conv2d)]
    # VGG16: 13 convs + 1 linear; ResNet18: 17 convs + 3 shortcut convs + 1 linear
    assert len(convs) == {"vgg16": 13, "vgg16bn": 13, "resnet18": 20}[arch]
    has_bn = any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    assert has_bn == (arch != "vgg16")


def test_width_scales_channels_with_a_floor_and_names_are_checked():
    full = vision.vgg16(width=1.0)
    assert full[0].out_channels == 64 and vision.vgg16(width=0.125)[0].out_channels == 8
    assert vision.vgg16(width=0.01)[0].out_channels == vision.MIN_CHANNELS
    with pytest.raises(ValueError, match="unknown conv architecture"):
        vision.build("alexnet", 10, 1.0)

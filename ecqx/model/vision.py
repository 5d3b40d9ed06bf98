"""The conv nets of the ECQx papers in their CIFAR (32x32) form: VGG16 with and without
BatchNorm, and ResNet18, each with a channel-width multiplier so that a reduced net trains on
CPUs in minutes and ``width=1`` is the papers' size.

BatchNorm stays a separate module (it is folded into the integer model only at export), and
VGG is one flat ``nn.Sequential`` (conv, BN, ReLU, max-pool, flatten, linear) so that the conv
integer export can walk it in order."""

from __future__ import annotations

import torch
from torch import nn

# channels per conv layer, "M" = 2x2 max-pool; five pools take 32x32 down to 1x1
VGG16_LAYERS = (
    64,
    64,
    "M",
    128,
    128,
    "M",
    256,
    256,
    256,
    "M",
    512,
    512,
    512,
    "M",
    512,
    512,
    512,
    "M",
)
RESNET18_STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))  # (channels, stride), two blocks each
MIN_CHANNELS = 4


def scaled(channels: int, width: float) -> int:
    return max(MIN_CHANNELS, round(channels * width))


def _init(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if isinstance(m, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return model


def vgg16(num_classes: int = 10, width: float = 1.0, batch_norm: bool = False) -> nn.Sequential:
    """VGG16 for 32x32 inputs: 13 3x3 convs (+BN), ReLU, five max-pools, one linear layer."""
    layers: list[nn.Module] = []
    c_in = 3
    for v in VGG16_LAYERS:
        if v == "M":
            layers.append(nn.MaxPool2d(2))
            continue
        c = scaled(int(v), width)
        # no conv bias before BN: BN's shift makes it redundant
        layers.append(nn.Conv2d(c_in, c, 3, padding=1, bias=not batch_norm))
        if batch_norm:
            layers.append(nn.BatchNorm2d(c))
        layers.append(nn.ReLU())
        c_in = c
    layers += [nn.Flatten(), nn.Linear(c_in, num_classes)]
    return _init(nn.Sequential(*layers))  # type: ignore[return-value]


class BasicBlock(nn.Module):
    """ResNet's two-conv block with BatchNorm and an identity (or 1x1 conv) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )
        self.relu2 = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x)))))
        return self.relu2(y + self.shortcut(x))


def resnet18(num_classes: int = 10, width: float = 1.0) -> nn.Sequential:
    """ResNet18 for 32x32 inputs (3x3 stem, no stem pool), global average pool, linear."""
    c = scaled(64, width)
    layers: list[nn.Module] = [
        nn.Conv2d(3, c, 3, padding=1, bias=False),
        nn.BatchNorm2d(c),
        nn.ReLU(),
    ]
    for channels, stride in RESNET18_STAGES:
        c_out = scaled(channels, width)
        layers += [BasicBlock(c, c_out, stride), BasicBlock(c_out, c_out, 1)]
        c = c_out
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, num_classes)]
    return _init(nn.Sequential(*layers))  # type: ignore[return-value]


BUILDERS = {
    "vgg16": lambda n, w: vgg16(n, w, batch_norm=False),
    "vgg16bn": lambda n, w: vgg16(n, w, batch_norm=True),
    "resnet18": resnet18,
}


def from_checkpoint(architecture: dict, state: dict) -> nn.Sequential:
    """The conv net a checkpoint describes (``architecture``: name, num_classes, width) with
    its parameters ``state`` (numpy arrays, as checkpoints store them)."""
    import numpy as np

    net = build(architecture["name"], int(architecture["num_classes"]),
                float(architecture["width"]))  # fmt: skip
    net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in state.items()})
    return net


def build(name: str, num_classes: int, width: float) -> nn.Sequential:
    """One of ``BUILDERS`` (the names ``ecqx.config.IMAGE_ARCHS`` lists)."""
    if name not in BUILDERS:
        raise ValueError(f"unknown conv architecture {name!r}; choose one of {sorted(BUILDERS)}")
    return BUILDERS[name](num_classes, width)

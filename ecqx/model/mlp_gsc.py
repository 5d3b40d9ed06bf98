"""MLP_GSC of the ECQx chapter: input, 512, 512, 256, 256, 128, 128, 12 classes, ReLU."""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

MLP_GSC_HIDDEN = (512, 512, 256, 256, 128, 128)


def mlp_gsc(
    in_features: int = 735, num_classes: int = 12, hidden: Sequence[int] = MLP_GSC_HIDDEN
) -> nn.Sequential:
    """A plain Linear/ReLU chain (no dropout, no normalization) so that every layer maps to one
    integer fully-connected kernel and the fast LRP path applies."""
    layers: list[nn.Module] = []
    width = in_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.ReLU()]
        width = h
    layers.append(nn.Linear(width, num_classes))
    for m in layers:
        if isinstance(m, nn.Linear):
            # He initialization keeps the signal alive through seven ReLU layers (PyTorch's
            # default shrinks it, and SGD at lr 0.01 then barely trains) and starts from the
            # zero-peaked Gaussian weights that entropy-constrained quantization expects.
            nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
            nn.init.zeros_(m.bias)
    return nn.Sequential(*layers)

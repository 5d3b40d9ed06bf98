"""DeepLIFT weight relevance (the companion paper's explanation score), from Captum.

Captum's ``LayerDeepLift`` gives, per sample, the DeepLIFT (Rescale) attribution of each
pre-activation ``z_j`` of a layer to the target logit, ``A_j = m_j * dz_j`` with ``dz`` the
difference to the baseline's forward (baseline: all-zero input). DeepLIFT multipliers pass
through a linear map unchanged, so the contribution of one weight is
``R_ji = sum_n w_ji * da_ni * m_nj``, with ``m = A / dz`` and ``da`` the layer input's
difference to the baseline's. Captum attributes to layers and inputs, not to weights; the
aggregation to weights (and the forward hooks for ``da`` and ``dz``) is written here.
Summed over a weight's row this gives back Captum's layer-output attribution; summed over its
column, Captum's attribution of the layer input (tested). For a convolution the same sum runs
over every position the filter is applied at; it is the weight gradient of ``sum(m * z(da))``
with ``z`` the layer's bias-free linear map, which autograd computes for Linear and Conv alike.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ecqx.quantizer.relevance.trace import ForwardTrace

TINY = 1e-9  # |dz| below this carries no attribution (Captum's own rescale guard is 1e-10)


SUPPORTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def _linear_map(layer: nn.Module, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The layer without its bias, with weights ``w``."""
    if isinstance(layer, nn.Linear):
        return F.linear(x, w)
    conv = {nn.Conv1d: F.conv1d, nn.Conv2d: F.conv2d, nn.Conv3d: F.conv3d}[type(layer)]
    return conv(x, w, None, layer.stride, layer.padding, layer.dilation, layer.groups)


def _aggregate(layer: nn.Module, m: torch.Tensor, da: torch.Tensor) -> torch.Tensor:
    """``w * sum_n,positions m * da`` per weight, via the gradient of ``sum(m * z(da))``."""
    w = layer.weight.detach().clone().requires_grad_(True)
    with torch.enable_grad():
        (grad,) = torch.autograd.grad((_linear_map(layer, da, w) * m).sum(), w)
    return layer.weight.detach() * grad


def _differences(
    model: nn.Module, layer: nn.Module, x: torch.Tensor, baseline: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(da, dz): the layer's input and output minus the baseline's, per sample."""
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def hook(_m: nn.Module, inp: tuple, out: torch.Tensor) -> None:
        seen.append((inp[0].detach(), out.detach()))

    handle = layer.register_forward_hook(hook)
    try:
        with torch.no_grad():
            model(x)
            model(baseline)
    finally:
        handle.remove()
    (a, z), (a0, z0) = seen
    return a - a0, z - z0


def deeplift_weight_relevance(
    model: nn.Module, layers: Sequence[nn.Module], x: torch.Tensor, target: torch.Tensor
) -> list[torch.Tensor]:
    """Per-weight DeepLIFT relevance of every layer in ``layers`` (Linear or Conv) for the
    target class of each sample, summed over the batch."""
    from captum.attr import LayerDeepLift

    bad = [type(m).__name__ for m in layers if type(m) not in SUPPORTED]
    if bad:
        raise ValueError(
            f"the DeepLIFT criterion supports Linear and Conv layers, not {', '.join(set(bad))}"
        )
    x = x.detach()
    baseline = torch.zeros_like(x)
    was_training = model.training
    model.eval()
    out = []
    try:
        for layer in layers:
            attr = LayerDeepLift(model, layer).attribute(
                x, baselines=baseline, target=target.to(torch.int64)
            )
            da, dz = _differences(model, layer, x, baseline)
            safe = torch.where(dz.abs() > TINY, dz, torch.ones_like(dz))
            m = torch.where(dz.abs() > TINY, attr.detach() / safe, torch.zeros_like(dz))
            out.append(_aggregate(layer, m, da))
    finally:
        model.train(was_training)
    return out


class DeepLIFT:
    """DeepLIFT (Rescale, zero baseline) weight relevance through Captum."""

    name = "deeplift"

    def __call__(
        self,
        model: nn.Module,
        layers: Sequence[nn.Module],
        x: torch.Tensor,
        target: torch.Tensor,
        trace: ForwardTrace | None,
    ) -> list[torch.Tensor]:
        return deeplift_weight_relevance(model, layers, x, target)

"""Hand-written LRP-epsilon weight relevance for stacks of Linear + ReLU layers.

Reuses the inputs/outputs captured during the training forward pass, so each layer costs one
matmul for the weight relevance and one to pass relevance down. Must agree with the zennit path
(tested); ReLU passes relevance through unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ecqx.quantizer.relevance.trace import ForwardTrace, stabilize, start_relevance

_PASS_THROUGH = (nn.ReLU, nn.Identity, nn.Flatten)


def linear_stack_layers(model: nn.Module) -> list[nn.Linear] | None:
    """The Linear layers of ``model`` in order if it is a plain Linear/ReLU chain, else None."""
    if not isinstance(model, nn.Sequential):
        return None
    linears = []
    for m in model:
        if isinstance(m, nn.Linear):
            linears.append(m)
        elif isinstance(m, nn.Sequential):
            inner = linear_stack_layers(m)
            if inner is None:
                return None
            linears.extend(inner)
        elif not isinstance(m, _PASS_THROUGH):
            return None
    return linears or None


def fast_weight_relevance(
    layers: Sequence[nn.Linear],
    trace: ForwardTrace,
    target: torch.Tensor,
    epsilon: float = 1e-6,
) -> list[torch.Tensor]:
    """Signed weight relevance of a Linear/ReLU chain from a recorded forward pass."""
    if not trace.complete:
        raise RuntimeError("forward trace is incomplete; run the model inside the trace first")
    out = trace.outputs[-1]
    relevance = start_relevance(out, target)
    result: list[torch.Tensor] = [None] * len(layers)  # type: ignore[list-item]
    with torch.no_grad():
        for i in range(len(layers) - 1, -1, -1):
            a = trace.inputs[i].flatten(1)
            s = relevance / stabilize(trace.outputs[i], epsilon)
            w = layers[i].weight
            result[i] = w * (s.t() @ a)
            if i > 0:
                relevance = a * (s @ w)
    return result

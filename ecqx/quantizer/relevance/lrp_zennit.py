"""LRP weight relevance through zennit (Eq. 5-7).

zennit's rules compute relevance for a layer's *input*. The rules here subclass them so the
same backward also differentiates the rule's modified weight copies and reduces those gradients
with the rule's own reducer: for the epsilon rule this gives
``R_w[j,i] = w[j,i] * sum_n a[n,i] R[n,j] / (z[n,j] + eps sign z[n,j])``, for alpha-beta the
alpha/beta-weighted positive and negative parts. Gradients with respect to a weight sum over
the batch and, for convolutions, over every position the filter is applied at.

The results land in a shared ``sink`` dict keyed by module: hooks, no model copies.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from zennit.composites import LayerMapComposite
from zennit.core import BasicHook, ParamMod
from zennit.rules import AlphaBeta, Epsilon, Pass
from zennit.types import Activation, BatchNorm, Convolution

from ecqx.quantizer.relevance.trace import start_relevance


def _weight_backward(
    self: BasicHook, module: nn.Module, grad_input: tuple, grad_output: tuple
) -> tuple:
    original_input = self.stored_tensors["input"][0].clone()
    inputs, weights, outputs = [], [], []
    for in_mod, param_mod, out_mod in zip(
        self.input_modifiers, self.param_modifiers, self.output_modifiers, strict=True
    ):
        x = in_mod(original_input).requires_grad_()
        with ParamMod.ensure(param_mod)(module) as modified, torch.autograd.enable_grad():
            out = out_mod(modified.forward(x))
            weights.append(modified.weight)
        inputs.append(x)
        outputs.append(out)
    grad_outputs = self.gradient_mapper(grad_output[0], outputs)
    grads = torch.autograd.grad(outputs, inputs + weights, grad_outputs=grad_outputs)
    n = len(inputs)
    relevance = self.reducer(inputs, grads[:n])
    weight_relevance = self.reducer(weights, grads[n:]).detach()
    previous = self.sink.get(module)
    self.sink[module] = weight_relevance if previous is None else previous + weight_relevance
    return tuple(relevance if g.shape == relevance.shape else None for g in grad_input)


class _WeightRelevance:
    """Mixin for a zennit rule: also aggregate relevance at the layer's weights into ``sink``,
    and keep the sink when zennit copies the hook for each module."""

    sink: dict
    backward = _weight_backward

    def copy(self) -> _WeightRelevance:
        c = super().copy()  # type: ignore[misc]
        c.sink = self.sink
        return c


class WeightEpsilon(_WeightRelevance, Epsilon):
    def __init__(self, sink: dict, epsilon: float = 1e-6) -> None:
        Epsilon.__init__(self, epsilon=epsilon)
        self.sink = sink


class WeightAlphaBeta(_WeightRelevance, AlphaBeta):
    def __init__(self, sink: dict, alpha: float = 2.0, beta: float = 1.0) -> None:
        AlphaBeta.__init__(self, alpha=alpha, beta=beta)
        self.sink = sink


def zennit_weight_relevance(
    model: nn.Module,
    layers: Sequence[nn.Module],
    x: torch.Tensor,
    target: torch.Tensor,
    epsilon: float = 1e-6,
    alpha: float = 2.0,
    beta: float = 1.0,
) -> list[torch.Tensor]:
    """Signed LRP relevance of every weight of ``layers``, summed over the batch.

    BatchNorm layers get the alpha-beta rule as the convolutions (they are not merged into
    neighbours), and the model runs in eval mode so this pass leaves BatchNorm statistics
    untouched."""
    sink: dict = {}
    composite = LayerMapComposite(
        layer_map=[
            (Activation, Pass()),
            # BN stays a layer of its own (not merged into the conv before it, so the conv's
            # relevance is that of the weights QAT trains); alpha-beta as on the convs
            (BatchNorm, AlphaBeta(alpha=alpha, beta=beta)),
            (Convolution, WeightAlphaBeta(sink, alpha=alpha, beta=beta)),
            (nn.Linear, WeightEpsilon(sink, epsilon=epsilon)),
        ]
    )
    was_training = model.training
    model.eval()
    try:
        # The input must require grad, otherwise the first layer's hook never fires.
        x = x.detach().clone().requires_grad_(True)
        with composite.context(model) as hooked, torch.enable_grad():
            out = hooked(x)
            torch.autograd.grad(out, x, grad_outputs=start_relevance(out, target))
    finally:
        model.train(was_training)
    missing = [i for i, m in enumerate(layers) if m not in sink]
    if missing:
        raise RuntimeError(f"LRP reached no relevance for layers {missing}; are they in the model?")
    return [sink[m] for m in layers]

"""Relevance criteria: callables returning signed per-weight relevance for the quantized layers
(or None for plain ECQ). The quantizer takes absolute values, normalizes and averages them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import torch
from torch import nn

from ecqx.quantizer.relevance.lrp_fast import fast_weight_relevance, linear_stack_layers
from ecqx.quantizer.relevance.lrp_zennit import zennit_weight_relevance
from ecqx.quantizer.relevance.trace import ForwardTrace, start_relevance


class Criterion(Protocol):
    name: str

    def __call__(
        self,
        model: nn.Module,
        layers: Sequence[nn.Module],
        x: torch.Tensor,
        target: torch.Tensor,
        trace: ForwardTrace | None,
    ) -> list[torch.Tensor] | None: ...


class NoRelevance:
    """Plain ECQ: no relevance, the zero cluster keeps its entropy-constrained cost."""

    name = "none"

    def __call__(
        self,
        model: nn.Module,
        layers: Sequence[nn.Module],
        x: torch.Tensor,
        target: torch.Tensor,
        trace: ForwardTrace | None,
    ) -> None:
        return None


class GradientTimesWeight:
    """w * d(target score)/dw with samples weighted by their score, as LRP starts."""

    name = "gradxw"

    def __call__(
        self,
        model: nn.Module,
        layers: Sequence[nn.Module],
        x: torch.Tensor,
        target: torch.Tensor,
        trace: ForwardTrace | None,
    ) -> list[torch.Tensor]:
        was_training = model.training
        model.eval()
        try:
            with torch.enable_grad():
                out = model(x.detach())
                grads = torch.autograd.grad(
                    out, [m.weight for m in layers], grad_outputs=start_relevance(out, target)
                )
        finally:
            model.train(was_training)
        return [m.weight.detach() * g for m, g in zip(layers, grads, strict=True)]


class LRP:
    """LRP weight relevance (ECQx). ``fast`` = None picks the hand-written pass whenever the
    model is a Linear/ReLU chain and a forward trace is available; True/False force a path."""

    name = "lrp"

    def __init__(
        self,
        epsilon: float = 1e-6,
        alpha: float = 2.0,
        beta: float = 1.0,
        fast: bool | None = None,
    ) -> None:
        self.epsilon = epsilon
        self.alpha = alpha
        self.beta = beta
        self.fast = fast

    def __call__(
        self,
        model: nn.Module,
        layers: Sequence[nn.Module],
        x: torch.Tensor,
        target: torch.Tensor,
        trace: ForwardTrace | None,
    ) -> list[torch.Tensor]:
        stack = linear_stack_layers(model)
        can_fast = stack is not None and list(stack) == list(layers)
        use_fast = (
            can_fast and trace is not None and trace.complete if self.fast is None else self.fast
        )
        if use_fast:
            if not can_fast:
                raise ValueError("the fast LRP path needs a model that is a Linear/ReLU chain")
            if trace is None or not trace.complete:
                with ForwardTrace(layers) as trace, torch.no_grad():
                    model(x)
            return fast_weight_relevance(stack, trace, target, self.epsilon)
        return zennit_weight_relevance(
            model, layers, x, target, epsilon=self.epsilon, alpha=self.alpha, beta=self.beta
        )


def criterion_for(method: str, relevance: str = "lrp") -> Criterion:
    """The relevance criterion of a training method (``TrainConfig.method``): ECQx weighs the
    zero-cluster cost by the ``relevance`` criterion (``TrainConfig.criterion``: LRP, DeepLIFT
    or gradient x weight), ECQ uses none."""
    from ecqx.quantizer.relevance.deeplift import DeepLIFT

    if method not in ("ecqx", "ecq"):
        raise ValueError(f"unknown method {method!r}; choose one of ['ecq', 'ecqx']")
    if method == "ecq":
        return NoRelevance()
    table = {"lrp": LRP, "deeplift": DeepLIFT, "gradxw": GradientTimesWeight}
    if relevance not in table:
        raise ValueError(f"unknown criterion {relevance!r}; choose one of {sorted(table)}")
    return table[relevance]()

"""Capture of layer inputs/outputs during the training forward pass, shared with the fast LRP
path so that relevance costs no extra forward pass."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def start_relevance(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Relevance at the output: the target-class score, zero elsewhere.

    Starting from the score itself (rather than 1) weights each sample by the model's output,
    so unconfident predictions contribute less relevance (section 4.2)."""
    onehot = torch.zeros_like(output)
    onehot.scatter_(1, target.view(-1, 1).to(torch.int64), 1.0)
    return output.detach() * onehot


def stabilize(z: torch.Tensor, epsilon: float) -> torch.Tensor:
    """z + epsilon * sign(z) with sign(0) = +1, the same stabilizer zennit uses."""
    sign = torch.where(z >= 0, torch.ones_like(z), -torch.ones_like(z))
    return z + epsilon * sign


class ForwardTrace:
    """Forward hooks that keep (input, output) of the given layers for one forward pass."""

    def __init__(self, layers: Sequence[nn.Module]) -> None:
        self.layers = list(layers)
        self.inputs: list[torch.Tensor | None] = [None] * len(self.layers)
        self.outputs: list[torch.Tensor | None] = [None] * len(self.layers)
        self._handles: list = []

    def __enter__(self) -> ForwardTrace:
        for i, layer in enumerate(self.layers):
            self._handles.append(layer.register_forward_hook(self._hook(i)))
        return self

    def __exit__(self, *exc: object) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _hook(self, i: int):  # noqa: ANN202 - a torch hook closure
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            self.inputs[i] = inputs[0].detach()
            self.outputs[i] = output.detach()

        return hook

    def keep_first(self, n: int) -> None:
        """Keep only the first ``n`` samples of every recorded tensor (relevance on a
        sub-batch: the fast LRP pass costs in proportion to the samples it sees)."""
        self.inputs = [None if t is None else t[:n] for t in self.inputs]
        self.outputs = [None if t is None else t[:n] for t in self.outputs]

    @property
    def complete(self) -> bool:
        return all(t is not None for t in self.inputs)

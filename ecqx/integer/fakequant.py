"""The integer model as a PyTorch fake-quant network (float32 arithmetic, int8 rounding points).

This is how a training framework sees the quantized model: dequantized weights and biases,
activations rounded to their int8 grids between layers. It differs from the integer engine
only in float rounding of the products and of the requantization, so its predictions agree
with the engine on nearly every input; the tests measure how nearly.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ecqx.integer.model import IntegerModel, IntLayer


class FakeQuantLinear(nn.Module):
    def __init__(self, layer: IntLayer) -> None:
        super().__init__()
        self.linear = nn.Linear(layer.shape[1], layer.shape[0])
        with torch.no_grad():
            codes = torch.from_numpy(layer.codes.astype(np.float32))
            self.linear.weight.copy_(codes * layer.w_scale)
            self.linear.bias.copy_(torch.from_numpy(layer.bias * np.float64(layer.bias_scale)))
        self.out_scale = layer.out_scale
        self.out_min = layer.out_min

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.fake_quantize_per_tensor_affine(
            self.linear(x), self.out_scale, 0, self.out_min, 127
        )


class FakeQuantModel(nn.Module):
    """Takes the int8 input codes (as a float tensor) and returns dequantized logits."""

    def __init__(self, model: IntegerModel) -> None:
        super().__init__()
        self.input_scale = model.input_scale
        self.layers = nn.Sequential(*[FakeQuantLinear(ly) for ly in model.layers])

    def forward(self, x_int8: torch.Tensor) -> torch.Tensor:
        return self.layers(x_int8.float() * self.input_scale)


def fake_quant_predict(model: IntegerModel, x_int8: np.ndarray) -> np.ndarray:
    net = FakeQuantModel(model).eval()
    with torch.no_grad():
        return net(torch.from_numpy(np.asarray(x_int8))).argmax(1).numpy()

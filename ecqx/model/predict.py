"""Class predictions of a trained checkpoint's PyTorch model on raw features (the float or
the quantized weights), as HIL and the leave-one-family-out evaluation compare them."""

from __future__ import annotations

import numpy as np
import torch

from ecqx.checkpoint import Checkpoint
from ecqx.model.mlp_gsc import mlp_gsc


def predict(ck: Checkpoint, feats: np.ndarray, state: dict | None = None) -> np.ndarray:
    """argmax of MLP_GSC with ``state`` (default: the checkpoint's quantized weights, float
    activations) on raw features normalized with the checkpoint's training mean/std."""
    arch = ck.architecture
    net = mlp_gsc(in_features=arch["in_features"], num_classes=arch["num_classes"])
    params = ck.state if state is None else state
    net.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in params.items()})
    net.eval()
    x = torch.from_numpy((feats - ck.input_mean) / ck.input_std).float()
    with torch.no_grad():
        return net(x).argmax(1).numpy()

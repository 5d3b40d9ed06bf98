"""The reference engine of the conv integer model: executes a ``ConvIntegerModel`` exactly as
its definition says.

Accumulators are computed by a float64 convolution (torch's, on the CPU): every product and
partial sum is an integer below 2^53, so the result is exact whatever the summation order.
Requantization is the integer ``single`` rounding of ``ecqx.integer.requant``, per channel."""

from __future__ import annotations

import numpy as np

from ecqx.integer.conv_model import ConvIntegerModel, ConvOp
from ecqx.integer.requant import INT32_MAX, INT32_MIN

CHUNK = 256  # images per float64 convolution (bounds memory, not results)


def accumulate(op: ConvOp, x: np.ndarray, magnitude: bool = False) -> np.ndarray:
    """int64 accumulators ``bias + codes * x`` of a conv/linear op; with ``magnitude`` the
    sum of |products| + |bias| instead (the size of the float computation, for error bounds)."""
    import torch
    import torch.nn.functional as F

    w = torch.from_numpy(op.codes.astype(np.float64))
    b = torch.from_numpy(op.bias.astype(np.float64))
    if magnitude:
        w, b = w.abs(), b.abs()
    if len(x) == 0:  # an empty batch: the shape one image would give
        one = accumulate(op, np.zeros((1, *x.shape[1:]), np.int8), magnitude)
        return np.zeros((0, *one.shape[1:]), np.int64)
    parts = []
    for i in range(0, len(x), CHUNK):
        xi = torch.from_numpy(np.asarray(x[i : i + CHUNK], np.float64))
        if magnitude:
            xi = xi.abs()
        if op.kind == "conv":
            y = F.conv2d(xi, w, b, stride=op.stride, padding=op.padding)
        else:
            y = F.linear(xi, w, b)
        parts.append(y.numpy())
    acc = np.concatenate(parts).astype(np.int64)
    if not magnitude and acc.size and (acc.min() < INT32_MIN or acc.max() > INT32_MAX):
        raise OverflowError(f"layer {op.name}: int32 accumulator overflow")
    return acc


def _per_channel(v: np.ndarray, ndim: int) -> np.ndarray:
    return v.reshape((1, -1) + (1,) * (ndim - 2))


def requantize(acc: np.ndarray, m: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """``(acc * m + 2^(30 - shift)) >> (31 - shift)`` per channel (axis 1), in int64."""
    total = _per_channel(31 - shift.astype(np.int64), acc.ndim)
    mm = _per_channel(m.astype(np.int64), acc.ndim)
    half = np.left_shift(np.int64(1), np.maximum(total - 1, 0))
    return (acc * mm + half) >> total


def add(op: ConvOp, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The residual add: ``(a m_a + b m_b + 2^(K-1)) >> K``, clamped (ReLU when ``op.relu``)."""
    k = int(op.shift[0])
    acc = a.astype(np.int64) * op.multiplier[0] + b.astype(np.int64) * op.multiplier[1]
    y = (acc + (np.int64(1) << (k - 1))) >> k
    return np.clip(y, 0 if op.relu else -128, 127).astype(np.int8)


def run_op(op: ConvOp, x: np.ndarray) -> np.ndarray:
    """One single-input op (everything but fork and add)."""
    if op.kind == "flatten":
        return x.reshape(len(x), -1)
    if op.kind == "avgpool":
        acc = x.astype(np.int64).sum(axis=(2, 3), keepdims=True)
        y = requantize(acc, op.multiplier, op.shift)
        return np.clip(y, 0 if op.relu else -128, 127).astype(np.int8)
    if op.kind == "maxpool":
        n, c, h, w = x.shape
        k = op.kernel
        windows = x[:, :, : h - h % k, : w - w % k].reshape(n, c, h // k, k, w // k, k)
        return windows.max(axis=(3, 5))
    y = requantize(accumulate(op, x), op.multiplier, op.shift)
    return np.clip(y, 0 if op.relu else -128, 127).astype(np.int8)


def run(model: ConvIntegerModel, x: np.ndarray, all_ops: bool = False) -> np.ndarray | list:
    """int8 inputs [N, C, H, W] -> int8 logits [N, classes] (or every op's output)."""
    x = np.asarray(x)
    if x.dtype != np.int8 or x.shape[1:] != tuple(model.input_shape):
        raise ValueError(
            f"input must be int8 [N, {', '.join(map(str, model.input_shape))}], got "
            f"{x.dtype} {list(x.shape)}"
        )
    outs = []
    kept: list[np.ndarray] = []  # the shortcuts of the open residual blocks
    for op in model.ops:
        if op.kind == "fork":
            kept.append(x)
            y = x
        elif op.kind == "add":
            y = x = add(op, x, kept.pop())
        elif op.branch == "shortcut":
            y = kept[-1] = run_op(op, kept[-1])
        else:
            y = x = run_op(op, x)
        outs.append(y)
    return outs if all_ops else outs[-1]


def predict(model: ConvIntegerModel, images: np.ndarray) -> np.ndarray:
    """Class per uint8 image [N, H, W, C]: argmax of the int8 logits (lowest index on ties)."""
    return np.asarray(run(model, model.quantize_input(images))).argmax(axis=-1)

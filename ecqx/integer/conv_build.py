"""A trained conv-net checkpoint -> its ``ConvIntegerModel``: BatchNorm folded (exactly: the
trained codes are kept, BN's per-channel factor goes into the channel's weight scale and its
shift into the bias), activation scales calibrated layer by layer on images, biases and
per-channel multipliers quantized, accumulators proved not to overflow.

Supported: chains of Conv2d [BatchNorm2d] [ReLU], MaxPool2d, Flatten, Linear [ReLU] (VGG16
with and without BN). Anything else is refused with the layer it stopped at."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecqx.checkpoint import Checkpoint
from ecqx.integer.build import CALIBRATION_PERCENTILE, calibrated_scale
from ecqx.integer.conv_engine import accumulate, run_op
from ecqx.integer.conv_model import ConvIntegerModel, ConvOp
from ecqx.integer.model import IntegerModelError
from ecqx.integer.requant import INT32_MAX, multiplier_of, quantize_float, quantize_multiplier


@dataclass
class FoldedLayer:
    """A quantized conv/linear layer with its BatchNorm folded, in real numbers:
    ``y[c] = sign[c] * codes[c] * step * |a[c]| * x + bias[c]``."""

    name: str
    kind: str
    codes: np.ndarray  # int8, signs of a folded in
    scale: np.ndarray  # float64 [O]: step * |a_c|
    bias: np.ndarray  # float64 [O]
    bits: int
    relu: bool
    stride: int = 1
    padding: int = 0


def _unsupported(i: int, what: str) -> IntegerModelError:
    return IntegerModelError(
        f"layer {i} ({what}) is not supported by the conv integer export, which handles chains "
        "of Conv2d [BatchNorm2d] [ReLU], MaxPool2d, Flatten and Linear (vgg16, vgg16bn); "
        "ResNet's residual additions and average pooling are not exported yet"
    )


def fold(ck: Checkpoint) -> list[FoldedLayer | ConvOp]:
    """The checkpoint's model as folded layers and pooling/flatten ops, in forward order."""
    import torch
    from torch import nn

    from ecqx.model import vision

    arch = ck.architecture
    model = vision.build(arch["name"], int(arch["num_classes"]), float(arch["width"]))
    model.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in ck.state.items()})
    qlayers = ck.quantizer.get("layers", {})
    mods = list(model)
    plan: list[FoldedLayer | ConvOp] = []
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Conv2d | nn.Linear):
            name = str(i)
            if name not in qlayers:
                raise IntegerModelError(f"layer {i} has no quantizer state; train with ecqx")
            q = qlayers[name]
            step = float(q["grid"]["step"])
            codes = np.asarray(q["codes"]).astype(np.int64)
            bias = (
                m.bias.detach().double().numpy()
                if m.bias is not None
                else np.zeros(m.out_channels if isinstance(m, nn.Conv2d) else m.out_features)
            )
            a = np.ones_like(bias)
            j = i + 1
            if j < len(mods) and isinstance(mods[j], nn.BatchNorm2d):
                bn = mods[j]
                a = (
                    bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
                ).numpy()
                bias = (
                    a * (bias - bn.running_mean.double().numpy())
                    + bn.bias.detach().double().numpy()
                )
                j += 1
            relu = j < len(mods) and isinstance(mods[j], nn.ReLU)
            j += int(relu)
            sign = np.where(a < 0, -1, 1)
            dead = a == 0  # a channel BN scales to zero outputs only its shift
            codes = codes * sign.reshape((-1,) + (1,) * (codes.ndim - 1))
            codes[dead] = 0
            conv = isinstance(m, nn.Conv2d)
            if conv and (
                m.groups != 1
                or m.dilation != (1, 1)
                or m.stride[0] != m.stride[1]
                or m.padding[0] != m.padding[1]
                or isinstance(m.padding, str)
            ):
                raise _unsupported(i, "Conv2d with groups, dilation or unequal stride/padding")
            plan.append(
                FoldedLayer(
                    name=name,
                    kind="conv" if conv else "linear",
                    codes=codes.astype(np.int8),
                    scale=step * np.where(dead, 1.0, np.abs(a)),
                    bias=bias,
                    bits=int(q["grid"]["bits"]),
                    relu=relu,
                    stride=m.stride[0] if conv else 1,
                    padding=m.padding[0] if conv else 0,
                )
            )
            i = j
        elif isinstance(m, nn.MaxPool2d):
            k, s = m.kernel_size, m.stride
            if not (isinstance(k, int) and k == s and m.padding == 0):
                raise _unsupported(i, "MaxPool2d other than k x k with stride k")
            plan.append(ConvOp(kind="maxpool", name=str(i), kernel=k))
            i += 1
        elif isinstance(m, nn.Flatten):
            plan.append(ConvOp(kind="flatten", name=str(i)))
            i += 1
        else:
            raise _unsupported(i, type(m).__name__)
    return plan


def worst_case_accumulator(codes: np.ndarray, bias: np.ndarray, x_max: int) -> int:
    per = np.abs(codes.astype(np.int64)).reshape(len(codes), -1).sum(1) * x_max
    return int((per + np.abs(bias.astype(np.int64))).max(initial=0))


def build_conv(ck: Checkpoint, calibration: np.ndarray) -> ConvIntegerModel:
    """The integer model of a conv-net checkpoint, calibrated on uint8 images [N, H, W, 3]."""
    plan = fold(ck)
    model = ConvIntegerModel(
        ops=[],
        input_scale=1.0,
        input_shape=tuple(ck.architecture.get("in_shape", (3, 32, 32))),  # type: ignore[arg-type]
        labels=list(ck.labels),
        input_mean=np.asarray(ck.input_mean, np.float32),
        input_std=np.asarray(ck.input_std, np.float32),
        meta={"architecture": ck.architecture, "bn_folded": True},
    )
    x_norm = np.asarray(calibration, np.float32).transpose(0, 3, 1, 2) / np.float32(255.0)
    x_norm = (x_norm - model.input_mean.reshape(1, -1, 1, 1)) / model.input_std.reshape(1, -1, 1, 1)
    s_x = calibrated_scale(x_norm)
    model.input_scale = s_x
    x = quantize_float(x_norm, s_x)
    first = True
    for item in plan:
        if isinstance(item, ConvOp):
            model.ops.append(item)
            x = run_op(item, x)
            continue
        ly = item
        w_scale = ly.scale.astype(np.float32)
        bias_scale = np.float64(np.float32(s_x)) * w_scale.astype(np.float64)
        probe = ConvOp(
            kind=ly.kind,
            name=ly.name,
            codes=ly.codes,
            bias=np.zeros(len(ly.codes), np.int32),
            stride=ly.stride,
            padding=ly.padding,
        )
        shape = (1, -1) + (1,) * (x.ndim - 2 if ly.kind == "conv" else 0)
        y = accumulate(probe, x) * bias_scale.reshape(shape) + ly.bias.reshape(shape)
        s_y = calibrated_scale(
            np.maximum(y, 0) if ly.relu else y, CALIBRATION_PERCENTILE if ly.relu else 100.0
        )
        bias = np.rint(ly.bias / bias_scale)
        if np.abs(bias).max(initial=0) > INT32_MAX:
            raise IntegerModelError(f"layer {ly.name}: bias does not fit int32 at its scale")
        ms, shifts = [], []
        for c in range(len(ly.codes)):
            try:
                m, s = quantize_multiplier(multiplier_of(s_x, float(w_scale[c]), s_y))
            except ValueError as e:
                raise IntegerModelError(f"layer {ly.name} channel {c}: {e}; re-train") from e
            ms.append(m)
            shifts.append(s)
        op = ConvOp(
            kind=ly.kind,
            name=ly.name,
            codes=ly.codes,
            bias=bias.astype(np.int32),
            w_scale=w_scale,
            multiplier=np.asarray(ms, np.int64),
            shift=np.asarray(shifts, np.int64),
            bits=ly.bits,
            in_scale=s_x,
            out_scale=s_y,
            relu=ly.relu,
            stride=ly.stride,
            padding=ly.padding,
        )
        bound = worst_case_accumulator(op.codes, op.bias, 128 if first else 127)
        if bound * 2 ** max(int(op.shift.max()), 0) > INT32_MAX:
            raise IntegerModelError(
                f"layer {ly.name}: int8 inputs can overflow the int32 "
                "accumulator; quantize with fewer bits or sparser"
            )
        model.ops.append(op)
        x = run_op(op, x)
        s_x = s_y
        first = False
    model.validate()
    return model

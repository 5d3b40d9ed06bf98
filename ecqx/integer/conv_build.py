"""A trained conv-net checkpoint -> its ``ConvIntegerModel``: BatchNorm folded (exactly: the
trained codes are kept, BN's per-channel factor goes into the channel's weight scale and its
shift into the bias), activation scales calibrated layer by layer on images, biases and
per-channel multipliers quantized, accumulators proved not to overflow.

Supported: chains of Conv2d [BatchNorm2d] [ReLU], MaxPool2d, Flatten, Linear [ReLU] (VGG16
with and without BN), ResNet's basic blocks (two convs with BN, an identity or 1x1-conv + BN
shortcut, the residual add and its ReLU) and global average pooling (ResNet18). Anything else
is refused with the layer it stopped at."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ecqx.checkpoint import Checkpoint
from ecqx.data.images import normalize_images
from ecqx.integer.build import CALIBRATION_PERCENTILE, calibrated_scale
from ecqx.integer.conv_engine import accumulate, add, run_op
from ecqx.integer.conv_model import ADD_SHIFT_MAX, ConvIntegerModel, ConvOp
from ecqx.integer.model import MULTIPLIER_MAX, IntegerModelError
from ecqx.integer.requant import INT32_MAX, multiplier_of, quantize_float, quantize_multiplier

if TYPE_CHECKING:  # torch is imported where the model is walked, not to read this module
    from torch import nn

    from ecqx.model.vision import BasicBlock


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
    branch: str = "main"


def _unsupported(i: int, what: str) -> IntegerModelError:
    return IntegerModelError(
        f"layer {i} ({what}) is not supported by the conv integer export, which handles chains "
        "of Conv2d [BatchNorm2d] [ReLU], MaxPool2d, Flatten and Linear, ResNet basic blocks "
        "and global average pooling (vgg16, vgg16bn, resnet18)"
    )


def _folded(
    name: str,
    m: nn.Conv2d | nn.Linear,
    bn: nn.BatchNorm2d | None,
    relu: bool,
    qlayers: dict,
    branch: str = "main",
) -> FoldedLayer:
    """One Conv2d/Linear with the BatchNorm after it (or None) folded."""
    import torch
    from torch import nn

    if name not in qlayers:
        raise IntegerModelError(f"layer {name} has no quantizer state; train it with ecqx")
    q = qlayers[name]
    codes = np.asarray(q["codes"]).astype(np.int64)
    conv = isinstance(m, nn.Conv2d)
    out = m.out_channels if conv else m.out_features
    bias = m.bias.detach().double().numpy() if m.bias is not None else np.zeros(out)
    a = np.ones_like(bias)
    if bn is not None:
        a = (bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)).numpy()
        bias = a * (bias - bn.running_mean.double().numpy()) + bn.bias.detach().double().numpy()
    if conv and (m.groups != 1 or m.dilation != (1, 1) or m.stride[0] != m.stride[1]
                 or isinstance(m.padding, str) or m.padding[0] != m.padding[1]):  # fmt: skip
        raise _unsupported(name, "Conv2d with groups, dilation or unequal stride/padding")
    sign = np.where(a < 0, -1, 1)
    dead = a == 0  # a channel BN scales to zero outputs only its shift
    codes = codes * sign.reshape((-1,) + (1,) * (codes.ndim - 1))
    codes[dead] = 0
    return FoldedLayer(
        name=name, kind="conv" if conv else "linear", codes=codes.astype(np.int8),
        scale=float(q["grid"]["step"]) * np.where(dead, 1.0, np.abs(a)), bias=bias,
        bits=int(q["grid"]["bits"]), relu=relu, stride=m.stride[0] if conv else 1,
        padding=m.padding[0] if conv else 0, branch=branch,
    )  # fmt: skip


def _block(i: int, b: BasicBlock, qlayers: dict) -> list:
    """A ResNet basic block: fork, conv1+BN1+ReLU, conv2+BN2, [shortcut conv+BN], add+ReLU."""
    from torch import nn

    plan: list = [ConvOp(kind="fork", name=f"{i}.fork")]
    plan.append(_folded(f"{i}.conv1", b.conv1, b.bn1, True, qlayers))
    plan.append(_folded(f"{i}.conv2", b.conv2, b.bn2, False, qlayers))
    if isinstance(b.shortcut, nn.Sequential):
        conv, bn = b.shortcut
        plan.append(_folded(f"{i}.shortcut.0", conv, bn, False, qlayers, branch="shortcut"))
    elif not isinstance(b.shortcut, nn.Identity):
        raise _unsupported(i, f"a shortcut of {type(b.shortcut).__name__}")
    plan.append(ConvOp(kind="add", name=f"{i}.add", relu=True))
    return plan


def fold(ck: Checkpoint) -> list[FoldedLayer | ConvOp]:
    """The checkpoint's model as folded layers and pooling/flatten ops, in forward order."""
    from torch import nn

    from ecqx.model import vision

    model = vision.from_checkpoint(ck.architecture, ck.state)
    qlayers = ck.quantizer.get("layers", {})
    mods = list(model)
    plan: list[FoldedLayer | ConvOp] = []
    i = 0
    while i < len(mods):
        m = mods[i]
        if isinstance(m, nn.Conv2d | nn.Linear):
            j = i + 1
            bn = mods[j] if j < len(mods) and isinstance(mods[j], nn.BatchNorm2d) else None
            j += bn is not None
            relu = j < len(mods) and isinstance(mods[j], nn.ReLU)
            plan.append(_folded(str(i), m, bn, relu, qlayers))
            i = j + relu
        elif isinstance(m, vision.BasicBlock):
            plan += _block(i, m, qlayers)
            i += 1
        elif isinstance(m, nn.MaxPool2d):
            k, s = m.kernel_size, m.stride
            if not (isinstance(k, int) and k == s and m.padding == 0):
                raise _unsupported(i, "MaxPool2d other than k x k with stride k")
            plan.append(ConvOp(kind="maxpool", name=str(i), kernel=k))
            i += 1
        elif isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1)):
            plan.append(ConvOp(kind="avgpool", name=str(i)))
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


def _weighted_op(ly: FoldedLayer, x: np.ndarray, s_x: float) -> ConvOp:
    """A folded conv/linear layer as an integer op, its output scale calibrated on ``x``."""
    w_scale = ly.scale.astype(np.float32)
    bias_scale = np.float64(np.float32(s_x)) * w_scale.astype(np.float64)
    probe = ConvOp(kind=ly.kind, name=ly.name, codes=ly.codes, stride=ly.stride,
                   padding=ly.padding, bias=np.zeros(len(ly.codes), np.int32))  # fmt: skip
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
            m, sh = quantize_multiplier(multiplier_of(s_x, float(w_scale[c]), s_y))
        except ValueError as e:
            raise IntegerModelError(f"layer {ly.name} channel {c}: {e}; re-train") from e
        ms.append(m)
        shifts.append(sh)
    op = ConvOp(kind=ly.kind, name=ly.name, codes=ly.codes, bias=bias.astype(np.int32),
                w_scale=w_scale, multiplier=np.asarray(ms, np.int64),
                shift=np.asarray(shifts, np.int64), bits=ly.bits, in_scale=s_x, out_scale=s_y,
                relu=ly.relu, stride=ly.stride, padding=ly.padding,
                branch=ly.branch)  # fmt: skip
    # any int8 input, -128 included (the first layer's), must keep the accumulator in int32
    bound = worst_case_accumulator(op.codes, op.bias, 128)
    if bound * 2 ** max(int(op.shift.max()), 0) > INT32_MAX:
        raise IntegerModelError(f"layer {ly.name}: int8 inputs can overflow the int32 "
                                "accumulator; quantize with fewer bits or sparser")  # fmt: skip
    return op


def _add_op(item: ConvOp, a: np.ndarray, s_a: float, b: np.ndarray, s_b: float) -> ConvOp:
    """The residual add: one exponent K for both 31-bit multipliers ``round(s / s_y 2^K)``."""
    y = a.astype(np.float64) * s_a + b.astype(np.float64) * s_b
    s_y = calibrated_scale(np.maximum(y, 0) if item.relu else y, CALIBRATION_PERCENTILE)
    ratios = np.array([s_a, s_b], np.float64) / np.float64(np.float32(s_y))
    k = min(ADD_SHIFT_MAX, 30 - int(np.floor(np.log2(ratios.max()))))
    m = np.rint(ratios * 2.0**k).astype(np.int64)
    if m.max() > MULTIPLIER_MAX:  # rounded up to 2^31
        k -= 1
        m = np.rint(ratios * 2.0**k).astype(np.int64)
    if k < 1:
        raise IntegerModelError(f"{item.name}: the residual add's scales differ too much")
    return ConvOp(kind="add", name=item.name, multiplier=m, shift=np.array([k], np.int64),
                  in_scale=s_a, skip_scale=s_b, out_scale=s_y, relu=item.relu)  # fmt: skip


def _avgpool_op(item: ConvOp, x: np.ndarray, s_x: float) -> ConvOp:
    """Global average pooling: the H x W sum requantized by ``s_x / (H W s_y)``."""
    hw = x.shape[2] * x.shape[3]
    y = x.astype(np.float64).sum(axis=(2, 3)) * np.float64(np.float32(s_x)) / hw
    s_y = calibrated_scale(y, CALIBRATION_PERCENTILE)
    m, sh = quantize_multiplier(float(np.float64(np.float32(s_x)) / hw / np.float32(s_y)))
    return ConvOp(kind="avgpool", name=item.name, multiplier=np.array([m], np.int64),
                  shift=np.array([sh], np.int64), in_scale=s_x, out_scale=s_y)  # fmt: skip


def build_conv(ck: Checkpoint, calibration: np.ndarray) -> ConvIntegerModel:
    """The integer model of a conv-net checkpoint, calibrated on uint8 images [N, H, W, 3]
    through the integer ops already built (each scale sees the rounding before it)."""
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
    x_norm = normalize_images(calibration, model.input_mean, model.input_std)
    s_x = calibrated_scale(x_norm)
    model.input_scale = s_x
    x = quantize_float(x_norm, s_x)
    kept: list[tuple[np.ndarray, float]] = []  # (shortcut, its scale) of each open block
    for item in plan:
        if isinstance(item, FoldedLayer):
            shortcut = item.branch == "shortcut"
            src, s_src = kept[-1] if shortcut else (x, s_x)
            op = _weighted_op(item, src, s_src)
            if shortcut:
                kept[-1] = (run_op(op, src), op.out_scale)
            else:
                x, s_x = run_op(op, x), op.out_scale
        elif item.kind == "fork":
            op = item
            kept.append((x, s_x))
        elif item.kind == "add":
            b, s_b = kept.pop()
            op = _add_op(item, x, s_x, b, s_b)
            x, s_x = add(op, x, b), op.out_scale
        elif item.kind == "avgpool":
            op = _avgpool_op(item, x, s_x)
            x, s_x = run_op(op, x), op.out_scale
        else:  # max-pooling and flattening keep the scale
            op = item
            x = run_op(op, x)
        model.ops.append(op)
    model.validate()
    return model

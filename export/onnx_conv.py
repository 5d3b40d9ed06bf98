"""ConvIntegerModel -> ONNX in QDQ form (opset 21), and its check in ONNX Runtime.

Like the MLP's graph (``onnx_qdq``): the graph takes uint8-range pixels as float [N, 3, H, W]
(0..255), normalizes and quantizes them; every conv/linear layer is DequantizeLinear on the
int8 activation, the weights (INT4 when the codes fit, else INT8; per-channel scales, axis 0
for conv, axis 1 for the [in, out] matmul weight) and the int32 bias (per-channel scale
``s_in * s_w[c]``), then Conv/MatMul + Add, ReLU, QuantizeLinear. A residual add dequantizes
both int8 inputs, adds, applies ReLU and quantizes; global average pooling dequantizes, pools
and quantizes. Max-pooling and flattening run on the int8 tensors themselves, so they are exact
by construction.

ONNX Runtime computes each layer in float32 where the integer model uses exact integer sums
and fixed-point multipliers, so int8 outputs may differ where the real value lies within
float32 rounding of a half. ``near_ties`` feeds every op ONNX Runtime's own int8 inputs,
compares its int8 output with the reference engine's on those inputs, and checks that each
difference is such a near-tie."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from ecqx.data.images import PIXEL_MAX
from ecqx.export.onnx_qdq import LEVELS, _session, checked_model
from ecqx.integer.conv_model import ConvIntegerModel, ConvOp

__all__ = ["LEVELS", "export", "near_ties", "run", "to_onnx"]

F32, I8, I32 = TensorProto.FLOAT, TensorProto.INT8, TensorProto.INT32


def _weight_type(codes: np.ndarray) -> int:
    small = np.abs(codes.astype(np.int64)).max(initial=0) <= 7
    return TensorProto.INT4 if small else TensorProto.INT8


@dataclass
class _Graph:
    nodes: list = field(default_factory=list)
    inits: list = field(default_factory=list)
    io: list = field(default_factory=list)  # per op: (input tensor names, output name)

    def scale(self, name: str, value: float) -> str:
        self.inits.append(helper.make_tensor(name, F32, [], [value]))
        return name

    def dq(self, q: str, scale: str, out: str) -> str:
        self.nodes.append(helper.make_node("DequantizeLinear", [q, scale, "zero_i8"], [out]))
        return out

    def q(self, x: str, scale: str, out: str, relu: bool) -> str:
        if relu:
            self.nodes.append(helper.make_node("Relu", [x], [x + "_relu"]))
            x += "_relu"
        self.nodes.append(helper.make_node("QuantizeLinear", [x, scale, "zero_i8"], [out]))
        return out


def _weighted(g: _Graph, op: ConvOp, p: str, x: tuple[str, str]) -> tuple[str, str]:
    out = len(op.codes)
    wt = _weight_type(op.codes)
    codes = op.codes if op.kind == "conv" else op.codes.T  # MatMul takes [in, out]
    g.inits += [
        helper.make_tensor(f"{p}_w", wt, list(codes.shape), codes.flatten().tolist()),
        helper.make_tensor(f"{p}_w_scale", F32, [out], op.w_scale.tolist()),
        helper.make_tensor(f"{p}_w_zero", wt, [out], [0] * out),
        helper.make_tensor(f"{p}_b", I32, [out], op.bias.tolist()),
        helper.make_tensor(f"{p}_b_scale", F32, [out], op.bias_scale.tolist()),
        helper.make_tensor(f"{p}_b_zero", I32, [out], [0] * out),
    ]
    axis = 0 if op.kind == "conv" else 1
    g.nodes += [
        helper.make_node("DequantizeLinear", [f"{p}_w", f"{p}_w_scale", f"{p}_w_zero"],
                         [f"{p}_wf"], axis=axis),
        helper.make_node("DequantizeLinear", [f"{p}_b", f"{p}_b_scale", f"{p}_b_zero"],
                         [f"{p}_bf"], axis=0),
    ]  # fmt: skip
    xf = g.dq(x[0], x[1], f"{p}_x")
    if op.kind == "conv":
        conv = helper.make_node("Conv", [xf, f"{p}_wf", f"{p}_bf"], [f"{p}_sum"],
                                strides=[op.stride] * 2, pads=[op.padding] * 4)  # fmt: skip
        g.nodes.append(conv)
    else:
        g.nodes += [helper.make_node("MatMul", [xf, f"{p}_wf"], [f"{p}_mm"]),
                    helper.make_node("Add", [f"{p}_mm", f"{p}_bf"], [f"{p}_sum"])]  # fmt: skip
    y_scale = g.scale(f"{p}_y_scale", op.out_scale)
    return g.q(f"{p}_sum", y_scale, f"{p}_q", op.relu), y_scale


def _build(model: ConvIntegerModel) -> _Graph:
    c = model.input_shape[0]
    g = _Graph()
    g.inits += [
        helper.make_tensor("pixel_scale", F32, [], [PIXEL_MAX]),
        helper.make_tensor("input_mean", F32, [1, c, 1, 1], model.input_mean.tolist()),
        helper.make_tensor("input_std", F32, [1, c, 1, 1], model.input_std.tolist()),
        helper.make_tensor("zero_i8", I8, [], [0]),
    ]
    g.nodes += [
        helper.make_node("Div", ["pixels", "pixel_scale"], ["unit"]),
        helper.make_node("Sub", ["unit", "input_mean"], ["centered"]),
        helper.make_node("Div", ["centered", "input_std"], ["normalized"]),
    ]
    cur = (g.q("normalized", g.scale("x_scale", model.input_scale), "x_q", False), "x_scale")
    kept: list[tuple[str, str]] = []
    for i, op in enumerate(model.ops):
        p = f"op{i}"
        src = kept[-1] if op.branch == "shortcut" else cur
        ins = [src[0]]
        if op.kind == "fork":
            kept.append(cur)
            g.io.append((ins, cur[0]))
            continue
        if op.kind in ("maxpool", "flatten"):
            k = op.kernel
            node = (helper.make_node("MaxPool", [src[0]], [f"{p}_q"], kernel_shape=[k, k],
                                     strides=[k, k]) if op.kind == "maxpool"
                    else helper.make_node("Flatten", [src[0]], [f"{p}_q"], axis=1))  # fmt: skip
            g.nodes.append(node)
            out = (f"{p}_q", src[1])
        elif op.kind == "add":
            b = kept.pop()
            ins.append(b[0])
            a_f, b_f = g.dq(src[0], src[1], f"{p}_a"), g.dq(b[0], b[1], f"{p}_b")
            g.nodes.append(helper.make_node("Add", [a_f, b_f], [f"{p}_sum"]))
            y = g.scale(f"{p}_y_scale", op.out_scale)
            out = (g.q(f"{p}_sum", y, f"{p}_q", op.relu), y)
        elif op.kind == "avgpool":
            g.nodes.append(helper.make_node("GlobalAveragePool", [g.dq(*src, f"{p}_x")],
                                            [f"{p}_sum"]))  # fmt: skip
            y = g.scale(f"{p}_y_scale", op.out_scale)
            out = (g.q(f"{p}_sum", y, f"{p}_q", op.relu), y)
        else:
            out = _weighted(g, op, p, src)
        g.io.append((ins, out[0]))
        if op.branch == "shortcut":
            kept[-1] = out
        else:
            cur = out
    g.nodes.append(helper.make_node("Identity", [cur[0]], ["logits_q"]))
    return g


def to_onnx(model: ConvIntegerModel) -> onnx.ModelProto:
    g = _build(model)
    graph = helper.make_graph(
        g.nodes,
        "ecqx_integer_conv",
        [helper.make_tensor_value_info("pixels", F32, ["N", *model.input_shape])],
        [helper.make_tensor_value_info("logits_q", I8, ["N", len(model.labels)])],
        initializer=g.inits,
    )
    return checked_model(graph, model.labels, model.identity())


def export(model: ConvIntegerModel, path: Path) -> Path:
    onnx.save(to_onnx(model), Path(path))
    return Path(path)


def pixels(images: np.ndarray) -> np.ndarray:
    """uint8 [N, H, W, C] -> the graph's float input [N, C, H, W] (0..255)."""
    return np.asarray(images, np.float32).transpose(0, 3, 1, 2).copy()


def run(path: Path, images: np.ndarray, level: str = "all") -> np.ndarray:
    return _session(path, level).run(["logits_q"], {"pixels": pixels(images)})[0]


def _exact(op: ConvOp, ins: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, int]:
    """(exact real value before rounding, the size of the float computation, terms summed)
    of every output of a rounding op, in output steps."""
    from ecqx.integer.conv_engine import accumulate

    x = ins[0].astype(np.float64)
    if op.kind == "add":
        a, b = x * op.in_scale, ins[1].astype(np.float64) * op.skip_scale
        return (a + b) / op.out_scale, (np.abs(a) + np.abs(b)) / op.out_scale, 2
    if op.kind == "avgpool":
        hw = x.shape[2] * x.shape[3]
        scale = op.in_scale / (hw * op.out_scale)
        return (
            x.sum((2, 3), keepdims=True) * scale,
            np.abs(x).sum((2, 3), keepdims=True) * scale,
            hw,
        )
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = (op.bias_scale.astype(np.float64) / op.out_scale).reshape(shape)
    acc = accumulate(op, ins[0]) * scale
    return acc, accumulate(op, ins[0], magnitude=True) * scale, op.codes[0].size


def near_ties(model: ConvIntegerModel, path: Path, images: np.ndarray, level: str) -> dict:
    """Every int8 where ONNX Runtime and the reference engine differ, op by op on ONNX
    Runtime's own int8 inputs, and whether the exact value lies within the float32 error
    bound of a rounding half (``explained``)."""
    from ecqx.integer.conv_engine import add, run_op

    g = _build(model)
    m = onnx.load(path)
    names = sorted({"x_q"} | {n for ins, out in g.io for n in [*ins, out]})
    known = {o.name for o in m.graph.output}
    for name in names:
        if name not in known:
            m.graph.output.append(helper.make_tensor_value_info(name, I8, None))
    got = dict(zip(names, _session(m, level).run(names, {"pixels": pixels(images)}), strict=True))
    found: dict = {"differing_samples": 0, "explained": 0, "unexplained": []}
    if not np.array_equal(got["x_q"], model.quantize_input(images)):
        found["unexplained"].append("the int8 input differs (input quantization)")
        return found
    differing = np.zeros(len(images), bool)
    for op, (ins, out) in zip(model.ops, g.io, strict=True):
        if op.kind == "fork":
            continue
        args = [got[n] for n in ins]
        want = add(op, *args) if op.kind == "add" else run_op(op, args[0])
        diff = want != got[out]
        if not diff.any():
            continue
        rows = diff.reshape(len(diff), -1).any(1)
        differing |= rows
        if op.kind in ("maxpool", "flatten"):
            found["unexplained"].append(f"op {op.name} ({op.kind}) differs: exact by definition")
            continue
        value, mag, terms = _exact(op, args)
        bound = (terms + 2) * 2.0**-24 * (mag + 1)
        distance = np.abs(value - np.floor(value) - 0.5)
        ok = distance[diff] <= bound[diff]
        found["explained"] += int(ok.sum())
        far = zip(value[diff][~ok], distance[diff][~ok], strict=True)
        found["unexplained"] += [f"{op.kind} {op.name}: {v:.6f} is {d:.2e} from a half"
                                 for v, d in far]  # fmt: skip
    found["differing_samples"] = int(differing.sum())
    return found

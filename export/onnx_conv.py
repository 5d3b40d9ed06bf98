"""ConvIntegerModel -> ONNX in QDQ form (opset 21), and its check in ONNX Runtime.

Like the MLP's graph (``onnx_qdq``): the graph takes uint8-range pixels as float [N, 3, H, W]
(0..255), normalizes and quantizes them; every conv/linear layer is DequantizeLinear on the
int8 activation, the weights (INT4 when the codes fit, else INT8; per-channel scales, axis 0
for conv, axis 1 for the [in, out] matmul weight) and the int32 bias (per-channel scale
``s_in * s_w[c]``), then Conv/MatMul + Add, ReLU, QuantizeLinear. Max-pooling and flattening
run on the int8 tensors themselves, so they are exact by construction.

ONNX Runtime computes each layer in float32 where the integer model uses an exact int32
accumulator and a fixed-point multiplier per channel, so int8 outputs may differ where the
real value lies within float32 rounding of a half; ``near_ties`` traces every difference to the
first layer where the two part and checks that bound, as for the MLP."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from ecqx.export.onnx_qdq import LEVELS, _session, checked_model
from ecqx.integer.conv_model import ConvIntegerModel

__all__ = ["LEVELS", "export", "near_ties", "run", "to_onnx"]


def _weight_type(codes: np.ndarray) -> int:
    return (
        TensorProto.INT4 if np.abs(codes.astype(np.int64)).max(initial=0) <= 7 else TensorProto.INT8
    )


def to_onnx(model: ConvIntegerModel) -> onnx.ModelProto:
    f32, i8, i32 = TensorProto.FLOAT, TensorProto.INT8, TensorProto.INT32
    c = model.input_shape[0]
    inits = [
        helper.make_tensor("pixel_scale", f32, [], [255.0]),
        helper.make_tensor("input_mean", f32, [1, c, 1, 1], model.input_mean.tolist()),
        helper.make_tensor("input_std", f32, [1, c, 1, 1], model.input_std.tolist()),
        helper.make_tensor("x_scale", f32, [], [model.input_scale]),
        helper.make_tensor("zero_i8", i8, [], [0]),
    ]
    nodes = [
        helper.make_node("Div", ["pixels", "pixel_scale"], ["unit"]),
        helper.make_node("Sub", ["unit", "input_mean"], ["centered"]),
        helper.make_node("Div", ["centered", "input_std"], ["normalized"]),
        helper.make_node("QuantizeLinear", ["normalized", "x_scale", "zero_i8"], ["x_q"]),
    ]
    x_q, x_scale = "x_q", "x_scale"
    last = max(i for i, op in enumerate(model.ops) if op.weighted)
    for i, op in enumerate(model.ops):
        p = f"op{i}"
        if op.kind == "maxpool":
            k = op.kernel
            nodes.append(
                helper.make_node("MaxPool", [x_q], [f"{p}_q"], kernel_shape=[k, k], strides=[k, k])
            )
            x_q = f"{p}_q"
            continue
        if op.kind == "flatten":
            nodes.append(helper.make_node("Flatten", [x_q], [f"{p}_q"], axis=1))
            x_q = f"{p}_q"
            continue
        out = len(op.codes)
        wt = _weight_type(op.codes)
        codes = op.codes if op.kind == "conv" else op.codes.T  # MatMul takes [in, out]
        axis = 0 if op.kind == "conv" else 1
        inits += [
            helper.make_tensor(f"{p}_w", wt, list(codes.shape), codes.flatten().tolist()),
            helper.make_tensor(f"{p}_w_scale", f32, [out], op.w_scale.tolist()),
            helper.make_tensor(f"{p}_w_zero", wt, [out], [0] * out),
            helper.make_tensor(f"{p}_b", i32, [out], op.bias.tolist()),
            helper.make_tensor(f"{p}_b_scale", f32, [out], op.bias_scale.tolist()),
            helper.make_tensor(f"{p}_b_zero", i32, [out], [0] * out),
            helper.make_tensor(f"{p}_y_scale", f32, [], [op.out_scale]),
        ]
        nodes += [
            helper.make_node("DequantizeLinear", [x_q, x_scale, "zero_i8"], [f"{p}_x"]),
            helper.make_node(
                "DequantizeLinear",
                [f"{p}_w", f"{p}_w_scale", f"{p}_w_zero"],
                [f"{p}_wf"],
                axis=axis,
            ),
            helper.make_node(
                "DequantizeLinear", [f"{p}_b", f"{p}_b_scale", f"{p}_b_zero"], [f"{p}_bf"], axis=0
            ),
        ]
        pre = f"{p}_pre" if op.relu else f"{p}_sum"
        if op.kind == "conv":
            pad = op.padding
            nodes.append(
                helper.make_node(
                    "Conv",
                    [f"{p}_x", f"{p}_wf", f"{p}_bf"],
                    [pre],
                    strides=[op.stride] * 2,
                    pads=[pad] * 4,
                )
            )
        else:
            nodes += [
                helper.make_node("MatMul", [f"{p}_x", f"{p}_wf"], [f"{p}_mm"]),
                helper.make_node("Add", [f"{p}_mm", f"{p}_bf"], [pre]),
            ]
        if op.relu:
            nodes.append(helper.make_node("Relu", [pre], [f"{p}_sum"]))
        y_q = "logits_q" if i == last else f"{p}_q"
        nodes.append(
            helper.make_node("QuantizeLinear", [f"{p}_sum", f"{p}_y_scale", "zero_i8"], [y_q])
        )
        x_q, x_scale = y_q, f"{p}_y_scale"
    n_cls = len(model.labels)
    graph = helper.make_graph(
        nodes,
        "ecqx_integer_conv",
        [helper.make_tensor_value_info("pixels", f32, ["N", *model.input_shape])],
        [helper.make_tensor_value_info("logits_q", i8, ["N", n_cls])],
        initializer=inits,
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


def near_ties(model: ConvIntegerModel, path: Path, images: np.ndarray, level: str) -> dict:
    """Every int8 where ONNX Runtime and the reference engine differ, traced to the first
    layer where they part (same int8 input there), and whether the exact value lies within
    the float32 error bound of a rounding half (``explained``)."""
    from ecqx.integer.conv_engine import accumulate, run_op

    m = onnx.load(path)
    names = ["x_q"] + [
        n.output[0]
        for n in m.graph.node
        if n.op_type in ("QuantizeLinear", "MaxPool", "Flatten") and n.output[0] != "x_q"
    ]
    known = {o.name for o in m.graph.output}
    for name in names:
        if name not in known:
            m.graph.output.append(helper.make_tensor_value_info(name, TensorProto.INT8, None))
    outs = _session(m, level).run(names, {"pixels": pixels(images)})
    found: dict = {"differing_samples": 0, "explained": 0, "unexplained": []}
    if not np.array_equal(outs[0], model.quantize_input(images)):
        found["unexplained"].append("the int8 input differs (input quantization)")
        return found
    alive = np.arange(len(images))
    for i, op in enumerate(model.ops):
        if not len(alive):
            break
        x, got = outs[i][alive], outs[i + 1][alive]
        want = run_op(op, x)
        diff = want != got
        rows = np.nonzero(diff.reshape(len(diff), -1).any(1))[0]
        if not len(rows):
            continue
        found["differing_samples"] += len(rows)
        if not op.weighted:
            found["unexplained"].append(f"op {i} ({op.kind}) differs: it is exact by definition")
            return found
        shape = (1, -1) + (1,) * (want.ndim - 2)
        scale = (op.bias_scale.astype(np.float64) / op.out_scale).reshape(shape)
        value = accumulate(op, x[rows]) * scale
        mag = accumulate(op, x[rows], magnitude=True) * scale
        fan_in = op.codes[0].size
        bound = (fan_in + 2) * 2.0**-24 * (mag + 1)
        distance = np.abs(value - np.floor(value) - 0.5)
        hit = diff[rows]
        ok = distance[hit] <= bound[hit]
        found["explained"] += int(ok.sum())
        found["unexplained"] += [
            f"layer {op.name}: value {v:.6f} is {d:.2e} from a half"
            for v, d in zip(value[hit][~ok], distance[hit][~ok])
        ]
        alive = np.setdiff1d(alive, alive[rows])
    return found

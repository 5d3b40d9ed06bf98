"""IntegerModel -> ONNX in QDQ form (opset 21), and its check in ONNX Runtime.

Weights are INT4 initializers (INT8 for 5-bit layers) behind DequantizeLinear; biases are
int32 behind DequantizeLinear with scale ``s_in * s_w``, so that ONNX Runtime never re-quantizes
a float bias itself; every activation goes through QuantizeLinear/DequantizeLinear (zero point
0, ReLU before the Q). The graph takes raw features and normalizes them, so it is usable alone.

Bit-exactness: ONNX Runtime requantizes in float32 (``round_half_even(acc * s_in * s_w / s_out)``)
where the integer model uses a fixed-point multiplier; the two agree except when a value lies
within float32 rounding of a half. The export step (``ecqx.export.pipeline``) runs the graph
with ``run`` at every optimization level and reports how often the int8 logits differ.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper

from ecqx.integer.model import IntegerModel

OPSET = 21
LEVELS = ("disable_all", "basic", "extended", "all")


def _scalar(name: str, value: float | int, dtype: int) -> onnx.TensorProto:
    return helper.make_tensor(name, dtype, [], [value])


def weight_type(bits: int) -> int:
    return TensorProto.INT4 if bits <= 4 else TensorProto.INT8


def to_onnx(model: IntegerModel) -> onnx.ModelProto:
    nodes, inits = [], []
    f32 = TensorProto.FLOAT
    inits += [
        helper.make_tensor("input_mean", f32, [model.in_features], model.input_mean.tolist()),
        helper.make_tensor("input_std", f32, [model.in_features], model.input_std.tolist()),
        _scalar("x_scale", model.input_scale, f32),
        _scalar("zero_i8", 0, TensorProto.INT8),
        _scalar("zero_i32", 0, TensorProto.INT32),
    ]
    nodes += [
        helper.make_node("Sub", ["features", "input_mean"], ["centered"]),
        helper.make_node("Div", ["centered", "input_std"], ["normalized"]),
        helper.make_node("QuantizeLinear", ["normalized", "x_scale", "zero_i8"], ["x_q"]),
    ]
    x_q, x_scale = "x_q", "x_scale"
    for i, ly in enumerate(model.layers):
        p = f"l{i}"
        wt = weight_type(ly.bits)
        w_zero = f"{p}_w_zero"
        inits += [
            helper.make_tensor(
                f"{p}_w", wt, [ly.shape[1], ly.shape[0]], ly.codes.T.flatten().tolist()
            ),
            _scalar(f"{p}_w_scale", ly.w_scale, f32),
            _scalar(w_zero, 0, wt),
            helper.make_tensor(f"{p}_b", TensorProto.INT32, [ly.shape[0]], ly.bias.tolist()),
            _scalar(f"{p}_b_scale", ly.bias_scale, f32),
            _scalar(f"{p}_y_scale", ly.out_scale, f32),
        ]
        pre = f"{p}_relu_in" if ly.relu else f"{p}_sum"
        nodes += [
            helper.make_node("DequantizeLinear", [x_q, x_scale, "zero_i8"], [f"{p}_x"]),
            helper.make_node("DequantizeLinear", [f"{p}_w", f"{p}_w_scale", w_zero], [f"{p}_wf"]),
            helper.make_node(
                "DequantizeLinear", [f"{p}_b", f"{p}_b_scale", "zero_i32"], [f"{p}_bf"]
            ),
            helper.make_node("MatMul", [f"{p}_x", f"{p}_wf"], [f"{p}_mm"]),
            helper.make_node("Add", [f"{p}_mm", f"{p}_bf"], [pre]),
        ]
        if ly.relu:
            nodes.append(helper.make_node("Relu", [pre], [f"{p}_sum"]))
        out_q = "logits_q" if i == len(model.layers) - 1 else f"{p}_y_q"
        nodes.append(
            helper.make_node("QuantizeLinear", [f"{p}_sum", f"{p}_y_scale", "zero_i8"], [out_q])
        )
        x_q, x_scale = out_q, f"{p}_y_scale"
    nodes.append(helper.make_node("DequantizeLinear", [x_q, x_scale, "zero_i8"], ["logits"]))
    graph = helper.make_graph(
        nodes,
        "ecqx_integer_mlp",
        [helper.make_tensor_value_info("features", f32, ["N", model.in_features])],
        [
            helper.make_tensor_value_info("logits_q", TensorProto.INT8, ["N", model.num_classes]),
            helper.make_tensor_value_info("logits", f32, ["N", model.num_classes]),
        ],
        initializer=inits,
    )
    m = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ecqx"
    )
    m.ir_version = 10
    helper.set_model_props(
        m, {"labels": ",".join(model.labels), "ecqx_model_identity": model.identity()}
    )
    onnx.checker.check_model(m, full_check=True)
    return m


def export(model: IntegerModel, path: Path) -> Path:
    path = Path(path)
    onnx.save(to_onnx(model), path)
    return path


def run(path: Path, features: np.ndarray, level: str = "all") -> np.ndarray:
    """int8 logits from ONNX Runtime at the given graph optimization level."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = {
        "disable_all": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[level]
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    return sess.run(["logits_q"], {"features": np.asarray(features, np.float32)})[0]

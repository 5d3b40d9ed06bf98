"""IntegerModel -> ONNX in QDQ form (opset 21), and its check in ONNX Runtime.

Weights are INT4 initializers (INT8 for 5-bit layers) behind DequantizeLinear; biases are
int32 behind DequantizeLinear with scale ``s_in * s_w``, so that ONNX Runtime never re-quantizes
a float bias itself; every activation goes through QuantizeLinear/DequantizeLinear (zero point
0, ReLU before the Q). The graph takes raw features and normalizes them, so it is usable alone.

Bit-exactness: ONNX Runtime computes each layer in float32 (dequantized matmul, bias, then
``round_half_even(y / s_out)``) where the integer model uses an exact int32 accumulator and a
fixed-point multiplier; the two agree except where the real value lies within float32 rounding
of a half. So the check (``ecqx.export.targets.Onnx``) runs the graph at every optimization
level, and ``near_ties`` proves that each int8 that differs is such a case: at the first layer
where ONNX Runtime and the reference engine part (same int8 input), the exact value must lie
within the float32 error bound of a rounding boundary. Anything else would be a bug.
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
    return checked_model(graph, model.labels, model.identity())


def checked_model(graph: onnx.GraphProto, labels: list[str], identity: str) -> onnx.ModelProto:
    """The graph as an opset-21 model carrying the labels and the integer model's identity,
    checked by ONNX's full checker."""
    m = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="ecqx"
    )
    m.ir_version = 10
    helper.set_model_props(m, {"labels": ",".join(labels), "ecqx_model_identity": identity})
    onnx.checker.check_model(m, full_check=True)
    return m


def export(model: IntegerModel, path: Path) -> Path:
    path = Path(path)
    onnx.save(to_onnx(model), path)
    return path


def _session(model: onnx.ModelProto | Path, level: str):  # noqa: ANN202 - onnxruntime type
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.graph_optimization_level = {
        "disable_all": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }[level]
    opts.intra_op_num_threads = 1
    source = model.SerializeToString() if isinstance(model, onnx.ModelProto) else str(model)
    return ort.InferenceSession(source, opts, providers=["CPUExecutionProvider"])


def run(path: Path, features: np.ndarray, level: str = "all") -> np.ndarray:
    """int8 logits from ONNX Runtime at the given graph optimization level."""
    sess = _session(path, level)
    return sess.run(["logits_q"], {"features": np.asarray(features, np.float32)})[0]


def layer_outputs(path: Path, features: np.ndarray, level: str) -> list[np.ndarray]:
    """ONNX Runtime's int8 input and every layer's int8 output (graph outputs added)."""
    m = onnx.load(path)
    names = ["x_q"] + [n.output[0] for n in m.graph.node
                       if n.op_type == "QuantizeLinear" and n.output[0] != "x_q"]  # fmt: skip
    known = {o.name for o in m.graph.output}
    for name in names:
        if name not in known:
            m.graph.output.append(helper.make_tensor_value_info(name, TensorProto.INT8, None))
    return _session(m, level).run(names, {"features": np.asarray(features, np.float32)})


def near_ties(model: IntegerModel, path: Path, features: np.ndarray, level: str) -> dict:
    """Every int8 ONNX Runtime computes differently from the reference engine, traced to the
    first layer where the two part, and whether the exact value there lies within the float32
    error bound of a rounding boundary (``explained``)."""
    from ecqx.integer import engine

    outs = layer_outputs(path, features, level)
    ref_x = model.quantize_input(features)
    found = {"differing_samples": 0, "explained": 0, "unexplained": []}
    if not np.array_equal(outs[0], ref_x):
        found["unexplained"].append("the int8 input differs (input quantization)")
        return found
    for i, ly in enumerate(model.layers):
        want = engine.run_layer(ly, outs[i], model.rounding)
        rows, units = np.nonzero(want != outs[i + 1])
        samples = sorted(set(rows.tolist()))
        found["differing_samples"] += len(samples)
        if not samples:
            continue
        a = outs[i][rows].astype(np.float64)
        acc = (a * ly.codes[units].astype(np.float64)).sum(1) + ly.bias[units]
        scale = ly.bias_scale / ly.out_scale  # s_in * s_w / s_out
        value = acc * scale
        # float32 matmul, bias add and division: each of cols + 2 roundings errs by at most
        # 2^-24 of the running magnitude; the sum of |terms| bounds that magnitude
        mag = (np.abs(a * ly.codes[units]).sum(1) + np.abs(ly.bias[units])) * scale
        bound = (ly.shape[1] + 2) * 2.0**-24 * (mag + 1)
        distance = np.abs(value - np.floor(value) - 0.5)
        ok = distance <= bound
        found["explained"] += int(ok.sum())
        found["unexplained"] += [
            f"layer {i} sample {r} unit {u}: value {v:.6f} is {d:.2e} from a half (bound {b:.2e})"
            for r, u, v, d, b, k in zip(rows, units, value, distance, bound, ok)
            if not k
        ]
        # the samples that differ here differ downstream too: later layers see other inputs
        keep = np.setdiff1d(np.arange(len(features)), samples)
        features, outs = features[keep], [o[keep] for o in outs]
    return found

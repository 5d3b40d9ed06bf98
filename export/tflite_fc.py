"""IntegerModel -> a fully integer TFLite flatbuffer (no TensorFlow), and its checks in LiteRT
and in TFLM's host interpreter.

One FULLY_CONNECTED per layer: int8 activations (zero point 0, ReLU fused), INT4 weights
(two per byte, low nibble first) or INT8 for 5-bit layers, int32 bias at ``s_in * s_w``. The
model takes and returns int8, as microcontroller deployments do; ``IntegerModel.quantize_input``
is the front end. TFLite derives its fixed-point multiplier from these float scales exactly
as ``ecqx.integer.requant.quantize_multiplier`` does; LiteRT's default build rounds twice
(``double``), so it is bit-exact with the integer model in that mode.
"""

from __future__ import annotations

from pathlib import Path

import flatbuffers
import numpy as np
import tflite

from ecqx.integer.model import IntegerModel

SCHEMA_VERSION = 3


def pack_int4(values: np.ndarray) -> bytes:
    """Two's-complement nibbles, element 2k in the low nibble of byte k (TFLite's layout)."""
    v = (np.asarray(values, np.int8).flatten().astype(np.uint8)) & 0x0F
    if v.size % 2:
        v = np.append(v, np.uint8(0))
    return (v[0::2] | (v[1::2] << 4)).astype(np.uint8).tobytes()


class _Writer:
    def __init__(self) -> None:
        self.b = flatbuffers.Builder(1 << 20)
        self.buffers: list[bytes] = [b""]  # buffer 0 must be the empty one
        self.tensors: list[int] = []

    def _vector(self, start, values: list[int], prepend) -> int:  # noqa: ANN001
        start(self.b, len(values))
        for v in reversed(values):
            prepend(v)
        return self.b.EndVector()

    def ints(self, values: list[int]) -> int:
        return self._vector(lambda b, n: b.StartVector(4, n, 4), values, self.b.PrependInt32)

    def add_buffer(self, data: bytes) -> int:
        self.buffers.append(data)
        return len(self.buffers) - 1

    def add_tensor(self, name: str, shape: list[int], ttype: int, scale: float | None,
                   data: bytes | None = None) -> int:  # fmt: skip
        b = self.b
        q = None
        if scale is not None:
            tflite.QuantizationParametersStartScaleVector(b, 1)
            b.PrependFloat32(scale)
            sv = b.EndVector()
            tflite.QuantizationParametersStartZeroPointVector(b, 1)
            b.PrependInt64(0)
            zv = b.EndVector()
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, sv)
            tflite.QuantizationParametersAddZeroPoint(b, zv)
            q = tflite.QuantizationParametersEnd(b)
        nm = b.CreateString(name)
        sh = self.ints(shape)
        buf = self.add_buffer(data) if data is not None else 0
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, sh)
        tflite.TensorAddType(b, ttype)
        tflite.TensorAddBuffer(b, buf)
        tflite.TensorAddName(b, nm)
        if q is not None:
            tflite.TensorAddQuantization(b, q)
        self.tensors.append(tflite.TensorEnd(b))
        return len(self.tensors) - 1


def to_tflite(model: IntegerModel, batch: int = 1) -> bytes:
    w = _Writer()
    b = w.b
    ops = []
    x = w.add_tensor("input", [batch, model.in_features], tflite.TensorType.INT8, model.input_scale)
    first_input = x
    for i, ly in enumerate(model.layers):
        int4 = ly.bits <= 4
        wdata = pack_int4(ly.codes) if int4 else ly.codes.astype(np.int8).tobytes()
        wt = w.add_tensor(
            f"l{i}_weights",
            list(ly.shape),
            tflite.TensorType.INT4 if int4 else tflite.TensorType.INT8,
            ly.w_scale,
            wdata,
        )
        bt = w.add_tensor(
            f"l{i}_bias", [ly.shape[0]], tflite.TensorType.INT32, ly.bias_scale,
            ly.bias.astype("<i4").tobytes(),
        )  # fmt: skip
        name = "logits" if i == len(model.layers) - 1 else f"l{i}_out"
        y = w.add_tensor(name, [batch, ly.shape[0]], tflite.TensorType.INT8, ly.out_scale)
        ops.append((x, wt, bt, y, ly.relu))
        x = y
    # operators
    op_offsets = []
    for xi, wi, bi, yi, relu in ops:
        tflite.FullyConnectedOptionsStart(b)
        tflite.FullyConnectedOptionsAddFusedActivationFunction(
            b, tflite.ActivationFunctionType.RELU if relu else tflite.ActivationFunctionType.NONE
        )
        opts = tflite.FullyConnectedOptionsEnd(b)
        ins, outs = w.ints([xi, wi, bi]), w.ints([yi])
        tflite.OperatorStart(b)
        tflite.OperatorAddOpcodeIndex(b, 0)
        tflite.OperatorAddInputs(b, ins)
        tflite.OperatorAddOutputs(b, outs)
        tflite.OperatorAddBuiltinOptionsType(b, tflite.BuiltinOptions.FullyConnectedOptions)
        tflite.OperatorAddBuiltinOptions(b, opts)
        op_offsets.append(tflite.OperatorEnd(b))

    def offsets_vector(items: list[int]) -> int:
        b.StartVector(4, len(items), 4)
        for o in reversed(items):
            b.PrependUOffsetTRelative(o)
        return b.EndVector()

    tensors = offsets_vector(w.tensors)
    operators = offsets_vector(op_offsets)
    sg_in, sg_out = w.ints([first_input]), w.ints([x])
    sg_name = b.CreateString("main")
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors)
    tflite.SubGraphAddInputs(b, sg_in)
    tflite.SubGraphAddOutputs(b, sg_out)
    tflite.SubGraphAddOperators(b, operators)
    tflite.SubGraphAddName(b, sg_name)
    subgraph = tflite.SubGraphEnd(b)

    buffer_offsets = []
    for data in w.buffers:
        dv = None
        if data:
            b.StartVector(1, len(data), 16)  # 16-byte aligned weight data
            b.head = b.head - len(data)
            b.Bytes[b.head : b.head + len(data)] = data
            dv = b.EndVector()
        tflite.BufferStart(b)
        if dv is not None:
            tflite.BufferAddData(b, dv)
        buffer_offsets.append(tflite.BufferEnd(b))

    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, tflite.BuiltinOperator.FULLY_CONNECTED)
    tflite.OperatorCodeAddBuiltinCode(b, tflite.BuiltinOperator.FULLY_CONNECTED)
    tflite.OperatorCodeAddVersion(b, 1)
    opcode = tflite.OperatorCodeEnd(b)

    subgraphs = offsets_vector([subgraph])
    opcodes = offsets_vector([opcode])
    buffers = offsets_vector(buffer_offsets)
    desc = b.CreateString(f"ecqx integer model {model.identity()}")
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, SCHEMA_VERSION)
    tflite.ModelAddOperatorCodes(b, opcodes)
    tflite.ModelAddSubgraphs(b, subgraphs)
    tflite.ModelAddDescription(b, desc)
    tflite.ModelAddBuffers(b, buffers)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def export(model: IntegerModel, path: Path) -> Path:
    path = Path(path)
    path.write_bytes(to_tflite(model))
    return path


def run_litert(path: Path, x_int8: np.ndarray) -> np.ndarray:
    """int8 outputs from LiteRT, one sample per invoke (the model has batch 1)."""
    from ai_edge_litert.interpreter import Interpreter

    it = Interpreter(model_path=str(path), num_threads=1)
    it.allocate_tensors()
    inp, out = it.get_input_details()[0]["index"], it.get_output_details()[0]["index"]
    res = []
    for row in np.asarray(x_int8, np.int8):
        it.set_tensor(inp, row[None])
        it.invoke()
        res.append(it.get_tensor(out)[0].copy())
    return np.stack(res)


def run_tflm(path: Path, x_int8: np.ndarray) -> np.ndarray:
    """int8 outputs from TFLM's host interpreter (the reference kernels run on MCUs)."""
    from tflite_micro.python.tflite_micro import runtime

    it = runtime.Interpreter.from_bytes(Path(path).read_bytes())
    res = []
    for row in np.asarray(x_int8, np.int8):
        it.set_input(row[None], 0)
        it.invoke()
        res.append(np.array(it.get_output(0))[0].copy())
    return np.stack(res)

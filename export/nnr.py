"""The integer codes as an NNC (ISO/IEC 15938-17, DeepCABAC) bitstream via nncodec.

Integer tensors are coded losslessly; ``export`` decodes the bitstream again and refuses to
write it unless every code comes back exactly. The compression ratio is the paper's: bytes
of the float32 model (weights + biases) over bytes of the bitstream.
"""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import numpy as np

from ecqx.integer.conv_model import ConvIntegerModel
from ecqx.integer.model import IntegerModel


def _weighted(model: IntegerModel | ConvIntegerModel) -> list:
    """The layers with codes and an int32 bias (an MLP's layers, a conv net's conv/linear)."""
    return model.layers if isinstance(model, IntegerModel) else model.weighted


def _tensors(model: IntegerModel | ConvIntegerModel) -> dict[str, np.ndarray]:
    t = {}
    for i, ly in enumerate(_weighted(model)):
        t[f"l{i}.weight"] = ly.codes.astype(np.int32)
        t[f"l{i}.bias"] = ly.bias.astype(np.int32)
    return t


def encode(model: IntegerModel | ConvIntegerModel) -> bytes:
    return encode_tensors(_tensors(model))


def encode_tensors(tensors: dict[str, np.ndarray]) -> bytes:
    """NNC bitstream of named integer tensors (int32 values), coded losslessly."""
    from nncodec import nnc

    with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
        # nncodec always writes a file too; keep it out of the user's folder.
        bs = nnc.compress(
            tensors, bitstream_path=str(Path(tmp) / "model.nnc"), return_bitstream=True
        )
    return bytes(bs)


def decode(bitstream: bytes) -> dict[str, np.ndarray]:
    from nncodec import nnc

    with contextlib.redirect_stdout(io.StringIO()):
        params, _ = nnc.decompress(bytearray(bitstream), return_model_information=True)
    return params


def float_bytes(model: IntegerModel | ConvIntegerModel) -> int:
    return sum(4 * (ly.codes.size + ly.bias.size) for ly in _weighted(model))


def export(model: IntegerModel | ConvIntegerModel, path: Path) -> dict:
    bs = encode(model)
    back = decode(bs)
    for name, ref in _tensors(model).items():
        got = back.get(name)
        if got is None or got.shape != ref.shape or not np.array_equal(got, ref):
            raise RuntimeError(f"NNC round trip changed tensor {name}; bitstream not written")
    Path(path).write_bytes(bs)
    return {
        "bytes": len(bs),
        "float32_bytes": float_bytes(model),
        "compression_ratio": float_bytes(model) / len(bs),
    }

"""The integer model: the one specification that every backend is checked against.

A chain of fully-connected layers on int8 activations (zero point 0 everywhere):

    acc[j] = bias[j] + sum_i codes[j, i] * x[i]              (int32)
    y[j]   = clamp(requantize(acc[j], m, shift), lo, 127)      (int8; lo = 0 after a ReLU)

Saved as one ``.npz`` (no pickles): the arrays plus a ``metadata.json`` entry with labels,
feature parameters, input normalization, scales, bits and the format version, so it loads
without the training code.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecqx.bits import MAX_BITS, MIN_BITS
from ecqx.integer.requant import ROUNDINGS

FORMAT = "ecqx-integer-model"
VERSION = 1


class IntegerModelError(ValueError):
    """A file or model that is not a valid integer model; the message says what to do."""


@dataclass
class IntLayer:
    name: str
    codes: np.ndarray  # int8 [out, in], values within the layer's b-bit grid
    bias: np.ndarray  # int32 [out], in units of in_scale * w_scale
    bits: int
    w_scale: float  # the ECQ step size: weight = code * w_scale
    in_scale: float
    out_scale: float
    multiplier: int  # int32 fixed-point mantissa in [2^30, 2^31) (or 0)
    shift: int  # real multiplier = multiplier * 2^(shift - 31)
    relu: bool

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.codes.shape)  # type: ignore[return-value]

    @property
    def bias_scale(self) -> float:
        """The declared scale of the int32 bias, ``s_in * s_w`` in float32 (as TFLite and
        ONNX store it)."""
        return float(np.float32(self.in_scale) * np.float32(self.w_scale))

    @property
    def out_min(self) -> int:
        return 0 if self.relu else -128

    @property
    def sparsity(self) -> float:
        return float((self.codes == 0).mean())

    @property
    def code_range(self) -> tuple[int, int]:
        return int(self.codes.min()), int(self.codes.max())


@dataclass
class IntegerModel:
    layers: list[IntLayer]
    input_scale: float
    labels: list[str]
    input_mean: np.ndarray  # float32 [in]: x_norm = (features - mean) / std
    input_std: np.ndarray
    meta: dict = field(default_factory=dict)  # feature parameters, provenance
    rounding: str = "single"  # requantization rounding, see ecqx.integer.requant

    @property
    def in_features(self) -> int:
        return self.layers[0].shape[1]

    @property
    def num_classes(self) -> int:
        return self.layers[-1].shape[0]

    @property
    def output_scale(self) -> float:
        return self.layers[-1].out_scale

    @property
    def weights(self) -> int:
        return sum(int(layer.codes.size) for layer in self.layers)

    @property
    def sparsity(self) -> float:
        return sum(int((layer.codes == 0).sum()) for layer in self.layers) / self.weights

    def quantize_input(self, features: np.ndarray) -> np.ndarray:
        """Raw features (e.g. MFCC) -> the int8 input of the first layer."""
        from ecqx.integer.requant import quantize_float

        x = (np.asarray(features, np.float32) - self.input_mean) / self.input_std
        return quantize_float(x, self.input_scale)

    def identity(self) -> str:
        """A 16-hex-digit hash of everything that determines the outputs (firmware staleness)."""
        h = hashlib.sha256()
        h.update(np.float32(self.input_scale).tobytes())
        for layer in self.layers:
            h.update(np.ascontiguousarray(layer.codes, np.int8).tobytes())
            h.update(np.ascontiguousarray(layer.bias, np.int32).tobytes())
            h.update(np.array([layer.multiplier, layer.shift, layer.relu], np.int64).tobytes())
        h.update(self.rounding.encode())
        return h.hexdigest()[:16]

    def validate(self) -> None:
        if not self.layers:
            raise IntegerModelError("integer model has no layers")
        width = self.layers[0].shape[1]
        for layer in self.layers:
            if not MIN_BITS <= layer.bits <= MAX_BITS:
                raise IntegerModelError(
                    f"layer {layer.name}: {layer.bits}-bit weights are not supported "
                    f"({MIN_BITS}..{MAX_BITS}); re-train with --bits in that range"
                )
            if layer.codes.dtype != np.int8 or layer.codes.ndim != 2:
                raise IntegerModelError(f"layer {layer.name}: codes must be a 2-D int8 array")
            if layer.shape[1] != width:
                raise IntegerModelError(
                    f"layer {layer.name} takes {layer.shape[1]} inputs but the previous layer "
                    f"gives {width}"
                )
            if layer.bias.shape != (layer.shape[0],) or layer.bias.dtype != np.int32:
                raise IntegerModelError(
                    f"layer {layer.name}: bias must be int32 [{layer.shape[0]}]"
                )
            lo, hi = layer.code_range
            limit = 2**layer.bits - 1
            if lo < -limit or hi > limit:
                raise IntegerModelError(
                    f"layer {layer.name}: codes {lo}..{hi} do not fit {layer.bits} bits"
                )
            width = layer.shape[0]
        if self.rounding not in ROUNDINGS:
            raise IntegerModelError(f"unknown requantization rounding {self.rounding!r}")
        if len(self.labels) != self.num_classes:
            raise IntegerModelError(
                f"{len(self.labels)} labels for {self.num_classes} outputs; the model is corrupt"
            )

    # -- file format ------------------------------------------------------------------------

    def save(self, path: Path) -> None:
        self.validate()
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "labels": self.labels,
            "input_scale": self.input_scale,
            "rounding": self.rounding,
            "identity": self.identity(),
            "layers": [
                {
                    "name": ly.name,
                    "bits": ly.bits,
                    "w_scale": ly.w_scale,
                    "in_scale": ly.in_scale,
                    "out_scale": ly.out_scale,
                    "multiplier": ly.multiplier,
                    "shift": ly.shift,
                    "relu": ly.relu,
                }
                for ly in self.layers
            ],
            **self.meta,
        }
        arrays = {"input_mean": self.input_mean, "input_std": self.input_std}
        for i, ly in enumerate(self.layers):
            arrays[f"codes_{i}"] = ly.codes
            arrays[f"bias_{i}"] = ly.bias
        arrays["metadata.json"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        tmp.replace(path)

    @staticmethod
    def load(path: Path) -> IntegerModel:
        path = Path(path)
        if not path.is_file():
            raise IntegerModelError(f"{path}: no such integer model file; run `ecqx export` first")
        try:
            with np.load(path, allow_pickle=False) as z:
                arrays = {k: z[k] for k in z.files}
        except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
            raise IntegerModelError(
                f"{path}: not a readable integer model ({e}); the file is truncated or corrupt, "
                "export it again"
            ) from e
        try:
            meta = json.loads(bytes(arrays.pop("metadata.json")).decode())
        except (KeyError, ValueError) as e:
            raise IntegerModelError(f"{path}: metadata missing or corrupt; export it again") from e
        if meta.get("format") != FORMAT:
            raise IntegerModelError(f"{path}: not an ecqx integer model")
        if meta.get("version") != VERSION:
            raise IntegerModelError(
                f"{path}: integer model version {meta.get('version')}, this ecqx reads {VERSION}"
            )
        try:
            layers = [
                IntLayer(
                    name=d["name"],
                    codes=arrays[f"codes_{i}"],
                    bias=arrays[f"bias_{i}"],
                    bits=int(d["bits"]),
                    w_scale=float(d["w_scale"]),
                    in_scale=float(d["in_scale"]),
                    out_scale=float(d["out_scale"]),
                    multiplier=int(d["multiplier"]),
                    shift=int(d["shift"]),
                    relu=bool(d["relu"]),
                )
                for i, d in enumerate(meta["layers"])
            ]
            known = {"format", "version", "labels", "input_scale", "rounding", "identity", "layers"}
            model = IntegerModel(
                layers=layers,
                input_scale=float(meta["input_scale"]),
                labels=list(meta["labels"]),
                input_mean=arrays["input_mean"],
                input_std=arrays["input_std"],
                meta={k: v for k, v in meta.items() if k not in known},
                rounding=str(meta["rounding"]),
            )
        except KeyError as e:
            raise IntegerModelError(f"{path}: entry {e} missing; the file is corrupt") from e
        model.validate()
        if model.identity() != meta.get("identity"):
            raise IntegerModelError(f"{path}: content does not match its recorded identity hash")
        return model

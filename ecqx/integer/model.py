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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecqx.bits import RANGE_TEXT, supported
from ecqx.checks import is_finite, is_int
from ecqx.errors import EcqxError
from ecqx.files import atomic_write
from ecqx.integer.requant import ROUNDINGS

FORMAT = "ecqx-integer-model"
VERSION = 2  # 2: the identity hash covers every output-affecting field


class IntegerModelError(EcqxError, ValueError):
    """A file or model that is not a valid integer model; the message says what to do."""


def grid_limits(bits: int, signed: bool) -> tuple[int, int]:
    """The codes of a b-bit ECQ grid: symmetric signed, or unsigned (a layer with no
    negative weights)."""
    hi = 2 ** (bits - 1) - 1 if signed else 2**bits - 1
    return (-hi if signed else 0), hi


# the requantization multiplier's mantissa range and the exponents the kernels support
MULTIPLIER_MIN, MULTIPLIER_MAX = 2**30, 2**31 - 1
SHIFT_MIN, SHIFT_MAX = -31, 30


def _positive_finite(v: object) -> bool:
    return is_finite(v) and v > 0


def _check_layer_fields(ly: IntLayer) -> None:
    def bad(what: str) -> IntegerModelError:
        return IntegerModelError(f"layer {ly.name}: {what}; the model is corrupt, export it again")

    if not all(is_int(v) for v in (ly.bits, ly.multiplier, ly.shift)):
        raise bad("bits, multiplier and shift must be integers")
    if not isinstance(ly.relu, bool):
        raise bad("relu must be true or false")
    for name in ("w_scale", "in_scale", "out_scale"):
        if not _positive_finite(getattr(ly, name)):
            raise bad(f"{name} {getattr(ly, name)!r} is not a finite number > 0")
    zero = ly.multiplier == 0 and ly.shift == 0
    in_range = (
        MULTIPLIER_MIN <= ly.multiplier <= MULTIPLIER_MAX and SHIFT_MIN <= ly.shift <= SHIFT_MAX
    )
    if not (zero or in_range):
        raise bad(
            f"requantization multiplier {ly.multiplier} / shift {ly.shift} outside "
            f"[2^30, 2^31) / [{SHIFT_MIN}, {SHIFT_MAX}] (or 0 / 0)"
        )


META_MEMBER = "metadata.json"


def write_model_file(path: Path, arrays: dict[str, np.ndarray], meta: dict) -> None:
    """An integer model file: ``.npz`` of the arrays plus the metadata as a JSON member,
    written atomically."""
    arrays = {**arrays, META_MEMBER: np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)}
    atomic_write(path, lambda f: np.savez(f, **arrays))


def read_model_file(path: Path, fmt: str, version: int) -> tuple[dict[str, np.ndarray], dict]:
    """(arrays, metadata) of an integer model file of format ``fmt``, read without pickles;
    every failure is an IntegerModelError that says what to do."""
    if not path.is_file():
        raise IntegerModelError(f"{path}: no such integer model file; run `ecqx export` first")
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # noqa: BLE001 - any failure to parse an untrusted file
        raise IntegerModelError(
            f"{path}: not a readable integer model ({e}); the file is truncated or corrupt, "
            "export it again"
        ) from e
    try:
        meta = json.loads(bytes(arrays.pop(META_MEMBER)).decode())
    except (KeyError, ValueError, TypeError) as e:
        raise IntegerModelError(f"{path}: metadata missing or corrupt; export it again") from e
    if not isinstance(meta, dict) or meta.get("format") != fmt:
        raise IntegerModelError(f"{path}: not an ecqx integer model of format {fmt}")
    if meta.get("version") != version:
        raise IntegerModelError(
            f"{path}: integer model version {meta.get('version')}, this ecqx reads "
            f"{version}; export it again with `ecqx export`"
        )
    return arrays, meta


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
        """A 16-hex-digit hash of everything that determines what the model answers for a
        clip: the feature parameters, input normalization and quantization, every layer's
        arrays, widths, scales and requantization, the rounding and the labels. The firmware
        reports it (staleness), and a loaded file must match the one it recorded (tampering).
        Names and provenance are not part of it."""
        h = hashlib.sha256()
        h.update(json.dumps([self.labels, self.rounding, self.meta.get("mfcc")],
                            sort_keys=True).encode())  # fmt: skip
        h.update(np.float64([self.input_scale]).tobytes())
        h.update(np.ascontiguousarray(self.input_mean, np.float32).tobytes())
        h.update(np.ascontiguousarray(self.input_std, np.float32).tobytes())
        for ly in self.layers:
            h.update(np.ascontiguousarray(ly.codes, np.int8).tobytes())
            h.update(np.ascontiguousarray(ly.bias, np.int32).tobytes())
            h.update(np.array([ly.bits, ly.multiplier, ly.shift, ly.relu], np.int64).tobytes())
            h.update(np.float64([ly.w_scale, ly.in_scale, ly.out_scale]).tobytes())
        return h.hexdigest()[:16]

    def validate(self) -> None:
        """Raise an IntegerModelError for any field outside the range the engine, the
        exporters and the C kernels are defined for."""
        if not self.layers:
            raise IntegerModelError("integer model has no layers")
        width = self.layers[0].shape[1]
        for layer in self.layers:
            _check_layer_fields(layer)
            if not supported(layer.bits):
                raise IntegerModelError(
                    f"layer {layer.name}: {layer.bits}-bit weights are not supported "
                    f"({RANGE_TEXT}); re-train with --bits in that range"
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
            glo, ghi = grid_limits(layer.bits, signed=lo < 0)
            if lo < glo or hi > ghi:
                raise IntegerModelError(
                    f"layer {layer.name}: codes {lo}..{hi} do not fit a {layer.bits}-bit grid "
                    f"({glo}..{ghi}); the model is corrupt, export it again"
                )
            width = layer.shape[0]
        if self.rounding not in ROUNDINGS:
            raise IntegerModelError(f"unknown requantization rounding {self.rounding!r}")
        if len(self.labels) != self.num_classes or not all(isinstance(v, str) for v in self.labels):
            raise IntegerModelError(
                f"{len(self.labels)} labels for {self.num_classes} outputs; the model is corrupt"
            )
        if not _positive_finite(self.input_scale):
            raise IntegerModelError(f"input scale {self.input_scale!r} is not a finite number > 0")
        for name, v in (("mean", self.input_mean), ("std", self.input_std)):
            v = np.asarray(v)
            if v.dtype != np.float32 or v.shape != (self.in_features,) or not np.isfinite(v).all():
                raise IntegerModelError(
                    f"input {name} must be {self.in_features} finite float32 values; the model "
                    "is corrupt, export it again"
                )
        if not (np.asarray(self.input_std) > 0).all():
            raise IntegerModelError("input std has values <= 0; the model is corrupt")

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
        write_model_file(Path(path), arrays, meta)

    @staticmethod
    def load(path: Path) -> IntegerModel:
        path = Path(path)
        arrays, meta = read_model_file(path, FORMAT, VERSION)
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
        except (TypeError, ValueError, AttributeError, OverflowError) as e:
            raise IntegerModelError(f"{path}: malformed entry ({e}); the file is corrupt") from e
        try:
            model.validate()
        except IntegerModelError as e:
            raise IntegerModelError(f"{path}: {e}") from e
        if model.identity() != meta.get("identity"):
            raise IntegerModelError(f"{path}: content does not match its recorded identity hash")
        return model

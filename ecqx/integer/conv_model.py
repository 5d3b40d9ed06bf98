"""The integer model of a conv net (VGG chains and ResNet blocks): the specification that its
exports are checked against, as ``ecqx.integer.model`` is for MLP_GSC.

A sequence of operations on int8 activations (zero point 0 everywhere), NCHW:

    conv / linear:  acc[c] = bias[c] + sum codes[c, ...] * x[...]          (int32)
                    y[c]   = clamp(requantize(acc[c], m[c], shift[c]), lo, 127)  (int8)
    maxpool:        y = max over each k x k window (exact on int8)
    avgpool:        y = clamp(requantize(sum over H x W, m, shift), 0, 127): global average
    flatten:        NCHW -> N x (C*H*W)
    fork:           keeps the current tensor as the shortcut of a residual block; the ops
                    marked ``branch="shortcut"`` (ResNet's 1x1 conv) transform it
    add:            y = clamp((a * m_a + b * m_b + 2^(K-1)) >> K, lo, 127), a the main path,
                    b the shortcut: the correctly rounded ``(a s_a + b s_b) / s_y`` up to the
                    31-bit multipliers ``m = round(s / s_y * 2^K)``

Each output channel has its own weight scale and requantization multiplier: BatchNorm is
folded here (``w_c = code * step * |a_c|`` with ``a_c = gamma_c / sqrt(var_c + eps)``, the
sign of ``a_c`` moved into the codes), so the codes stay exactly those ECQ/ECQx trained.

Saved as one ``.npz`` (no pickles) with a ``metadata.json`` member."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecqx.bits import RANGE_TEXT, supported
from ecqx.integer.model import (
    MULTIPLIER_MAX,
    MULTIPLIER_MIN,
    SHIFT_MAX,
    SHIFT_MIN,
    IntegerModelError,
    read_model_file,
    write_model_file,
)

FORMAT = "ecqx-integer-conv-model"
VERSION = 2  # 2: residual blocks (fork, add) and global average pooling
KINDS = ("conv", "linear", "maxpool", "avgpool", "flatten", "fork", "add")
BRANCHES = ("main", "shortcut")
ADD_SHIFT_MAX = 62  # (a m_a + b m_b) stays below 2^40, so any K <= 62 fits int64


@dataclass
class ConvOp:
    kind: str
    name: str = ""
    codes: np.ndarray | None = None  # int8 [O, I, kh, kw] (conv) or [O, I] (linear)
    bias: np.ndarray | None = None  # int32 [O], in units of in_scale * w_scale[c]
    w_scale: np.ndarray | None = None  # float32 [O]: weight = code * w_scale[c]
    multiplier: np.ndarray | None = None  # int64 [O], in [2^30, 2^31) or 0
    shift: np.ndarray | None = None  # int64 [O]
    bits: int = 0
    in_scale: float = 0.0
    out_scale: float = 0.0
    relu: bool = False
    stride: int = 1
    padding: int = 0
    kernel: int = 0  # maxpool window (= its stride)
    branch: str = "main"  # "shortcut": applies to the tensor the last fork kept
    skip_scale: float = 0.0  # add: the shortcut's scale (in_scale is the main path's)

    @property
    def weighted(self) -> bool:
        return self.kind in ("conv", "linear")

    @property
    def bias_scale(self) -> np.ndarray:
        """Per channel ``s_in * s_w[c]`` in float32, as ONNX stores the int32 bias's scale."""
        return (np.float32(self.in_scale) * np.asarray(self.w_scale, np.float32)).astype(np.float32)

    def params(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "bits": self.bits,
            "in_scale": self.in_scale,
            "out_scale": self.out_scale,
            "relu": self.relu,
            "stride": self.stride,
            "padding": self.padding,
            "kernel": self.kernel,
            "branch": self.branch,
            "skip_scale": self.skip_scale,
        }


ARRAYS = ("codes", "bias", "w_scale", "multiplier", "shift")


def _check_requant(op: ConvOp, what: str, n: int) -> None:
    m, s = op.multiplier, op.shift
    for a, v in (("multiplier", m), ("shift", s)):
        if v is None or v.dtype != np.int64 or v.shape != (n,):
            raise IntegerModelError(f"{what}: {a} must be int64 [{n}]")
    ok = ((m == 0) & (s == 0)) | (
        (m >= MULTIPLIER_MIN) & (m <= MULTIPLIER_MAX) & (s >= SHIFT_MIN) & (s <= SHIFT_MAX)
    )
    if not ok.all():
        raise IntegerModelError(f"{what}: requantization multiplier/shift out of range")
    if not (op.in_scale > 0 and op.out_scale > 0):
        raise IntegerModelError(f"{what}: activation scales must be > 0")


def _check_add(op: ConvOp) -> None:
    what = f"residual add {op.name}"
    m, k = op.multiplier, op.shift
    if m is None or m.dtype != np.int64 or m.shape != (2,) or k is None or k.shape != (1,):
        raise IntegerModelError(f"{what}: multipliers must be int64 [2] and the shift [1]")
    if not ((m >= 0).all() and (m <= MULTIPLIER_MAX).all() and 0 < int(k[0]) <= ADD_SHIFT_MAX):
        raise IntegerModelError(f"{what}: multipliers or shift out of range")
    if not (op.in_scale > 0 and op.skip_scale > 0 and op.out_scale > 0):
        raise IntegerModelError(f"{what}: activation scales must be > 0")


def _check_weighted(op: ConvOp) -> None:
    bad = f"layer {op.name}"
    if not supported(op.bits):
        raise IntegerModelError(f"{bad}: {op.bits}-bit weights ({RANGE_TEXT} supported)")
    want = 4 if op.kind == "conv" else 2
    if op.codes is None or op.codes.dtype != np.int8 or op.codes.ndim != want:
        raise IntegerModelError(f"{bad}: codes must be a {want}-D int8 array")
    out = op.codes.shape[0]
    for a, dtype in (("bias", np.int32), ("w_scale", np.float32)):
        v = getattr(op, a)
        if v is None or v.dtype != dtype or v.shape != (out,):
            raise IntegerModelError(f"{bad}: {a} must be {np.dtype(dtype).name} [{out}]")
    if np.abs(op.codes.astype(np.int64)).max(initial=0) > 2**op.bits - 1:
        raise IntegerModelError(f"{bad}: codes outside a {op.bits}-bit grid; corrupt")
    _check_requant(op, bad, out)
    if not (np.isfinite(op.w_scale).all() and (op.w_scale > 0).all()):
        raise IntegerModelError(f"{bad}: weight scales must be finite and > 0")


@dataclass
class ConvIntegerModel:
    ops: list[ConvOp]
    input_scale: float
    input_shape: tuple[int, int, int]  # C, H, W
    labels: list[str]
    input_mean: np.ndarray  # float32 [C]: x = (pixel / 255 - mean) / std
    input_std: np.ndarray
    meta: dict = field(default_factory=dict)

    @property
    def weighted(self) -> list[ConvOp]:
        return [op for op in self.ops if op.weighted]

    @property
    def weights(self) -> int:
        return sum(int(op.codes.size) for op in self.weighted)

    @property
    def sparsity(self) -> float:
        return sum(int((op.codes == 0).sum()) for op in self.weighted) / self.weights

    def quantize_input(self, images: np.ndarray) -> np.ndarray:
        """uint8 images [N, H, W, C] -> the int8 input [N, C, H, W]."""
        from ecqx.data.images import normalize_images
        from ecqx.integer.requant import quantize_float

        x = normalize_images(images, self.input_mean, self.input_std)
        return quantize_float(x, self.input_scale)

    def identity(self) -> str:
        h = hashlib.sha256()
        h.update(json.dumps([self.labels, list(self.input_shape)]).encode())
        h.update(np.float64([self.input_scale]).tobytes())
        h.update(np.ascontiguousarray(self.input_mean, np.float32).tobytes())
        h.update(np.ascontiguousarray(self.input_std, np.float32).tobytes())
        for op in self.ops:
            h.update(json.dumps(op.params(), sort_keys=True).encode())
            for a in ARRAYS:
                v = getattr(op, a)
                if v is not None:
                    h.update(np.ascontiguousarray(v).tobytes())
        return h.hexdigest()[:16]

    def validate(self) -> None:
        if not self.weighted:
            raise IntegerModelError("conv integer model has no conv or linear layer")
        open_forks = 0
        for op in self.ops:
            if op.kind not in KINDS or op.branch not in BRANCHES:
                raise IntegerModelError(f"unknown operation {op.kind!r}; export the model again")
            open_forks += (op.kind == "fork") - (op.kind == "add")
            if open_forks < 0 or (op.branch == "shortcut" and open_forks == 0):
                raise IntegerModelError(f"{op.name}: a residual add or shortcut without a fork")
            if op.kind == "maxpool" and op.kernel < 1:
                raise IntegerModelError(f"{op.name}: max-pool window {op.kernel} < 1")
            if op.kind == "add":
                _check_add(op)
            elif op.kind == "avgpool":
                _check_requant(op, f"average pool {op.name}", 1)
            elif op.weighted:
                _check_weighted(op)
        if open_forks:
            raise IntegerModelError("a residual block without its add; export the model again")
        if len(self.labels) != self.weighted[-1].codes.shape[0]:
            raise IntegerModelError(f"{len(self.labels)} labels for the model's outputs; corrupt")

    def save(self, path: Path) -> None:
        self.validate()
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "labels": self.labels,
            "input_scale": self.input_scale,
            "input_shape": list(self.input_shape),
            "identity": self.identity(),
            "ops": [op.params() for op in self.ops],
            **self.meta,
        }
        arrays = {"input_mean": self.input_mean, "input_std": self.input_std}
        for i, op in enumerate(self.ops):
            for a in ARRAYS:
                if getattr(op, a) is not None:
                    arrays[f"{a}_{i}"] = getattr(op, a)
        write_model_file(Path(path), arrays, meta)

    @staticmethod
    def load(path: Path) -> ConvIntegerModel:
        path = Path(path)
        arrays, meta = read_model_file(path, FORMAT, VERSION)
        try:
            ops = []
            for i, d in enumerate(meta["ops"]):
                ops.append(
                    ConvOp(**d, **{a: arrays[f"{a}_{i}"] for a in ARRAYS if f"{a}_{i}" in arrays})
                )
            known = {"format", "version", "labels", "input_scale", "input_shape", "identity", "ops"}
            model = ConvIntegerModel(
                ops=ops,
                input_scale=float(meta["input_scale"]),
                input_shape=tuple(meta["input_shape"]),  # type: ignore[arg-type]
                labels=list(meta["labels"]),
                input_mean=arrays["input_mean"],
                input_std=arrays["input_std"],
                meta={k: v for k, v in meta.items() if k not in known},
            )
        except (KeyError, TypeError, ValueError) as e:
            raise IntegerModelError(f"{path}: malformed entry ({e}); the file is corrupt") from e
        model.validate()
        if model.identity() != meta.get("identity"):
            raise IntegerModelError(f"{path}: content does not match its recorded identity hash")
        return model

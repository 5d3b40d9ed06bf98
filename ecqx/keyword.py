"""``ecqx predict``: the keyword in a WAV file by the integer reference engine - the same
integers the exported C library and the device compute (front end included, for a model on
the fixed-point MFCC)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecqx.codegen.frontend import feature_params
from ecqx.data.audio import DataError, read_wav
from ecqx.data.features import mfcc
from ecqx.data.fixed_mfcc import to_pcm16
from ecqx.integer import engine
from ecqx.integer.model import IntegerModel, IntegerModelError
from ecqx.run import RunDir


def load_model(path: Path) -> IntegerModel:
    """An integer model file, or the one ``ecqx export`` wrote for a training run folder."""
    path = Path(path)
    file = RunDir(path).export.integer_model if path.is_dir() else path
    if not file.is_file():
        hint = f"`ecqx export --model {path}` first" if path.is_dir() else "check the path"
        raise IntegerModelError(f"no integer model at {file}: {hint}")
    return IntegerModel.load(file)


@dataclass
class Prediction:
    label: str
    index: int
    logits: np.ndarray  # int8 [classes]
    probabilities: np.ndarray  # softmax of the real-valued logits
    seconds: float  # length of the file
    used: str  # which part of the file was classified

    def table(self, labels: list[str]) -> str:
        order = np.argsort(-self.probabilities, kind="stable")
        lines = [f"{'class':10s} {'int8 logit':>10s} {'probability':>11s}"]
        lines += [f"{labels[k]:10s} {int(self.logits[k]):10d} {self.probabilities[k]:11.3f}"
                  for k in order]  # fmt: skip
        return "\n".join(lines)


def predict_wav(wav: Path, model: IntegerModel) -> Prediction:
    """Classify the first second of ``wav`` (16-bit mono at the model's rate; a shorter file
    is padded with silence, as the C example does)."""
    params = feature_params(model)
    if params is None:
        raise IntegerModelError("the integer model records no feature parameters; export it again")
    pcm = to_pcm16(read_wav(Path(wav), params.sample_rate))
    if pcm.size == 0:
        raise DataError(f"{wav}: no samples")
    n = params.clip_samples
    clip = np.zeros(n, np.int16)
    clip[: min(n, pcm.size)] = pcm[:n]
    x = model.quantize_input(mfcc(clip[None], params))
    logits = engine.run(model, x)[0]
    real = logits.astype(np.float64) * model.output_scale
    p = np.exp(real - real.max())
    seconds = pcm.size / params.sample_rate
    used = "the whole file" if pcm.size == n else (
        f"the first {n / params.sample_rate:g} s" if pcm.size > n else
        f"all {seconds:.2f} s, padded with silence to {n / params.sample_rate:g} s")  # fmt: skip
    k = int(logits.argmax())
    return Prediction(model.labels[k], k, logits, p / p.sum(), seconds, used)

"""Streaming keyword recognition on the integer model's outputs, as TFLite Micro's
RecognizeCommands does it, in integers so that the device's C (``ecqx_stream.c``) makes the
same decisions bit for bit.

Every ``infer_every`` feature frames the model runs on the last second; the int8 logits of the
last ``average`` runs are summed per class; a keyword (not ``_silence_``/``_unknown_``) is
detected when it leads the sums, at least ``min_count`` runs are in the window, its lead over
the runner-up averages at least ``threshold`` (real-valued logit units) and the previous
detection is ``suppression_frames`` frames ago."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ecqx.config import ConfigError


@dataclass(frozen=True)
class RecognizerParams:
    # defaults chosen on a 10-minute stream of the default stand-in's test split (README)
    infer_every: int = 5  # frames between inferences: 5 x 20 ms = 100 ms
    average: int = 6  # inferences whose logits are summed: 600 ms
    min_count: int = 3
    threshold: float = 2.0  # mean logit lead of the keyword over the runner-up
    suppression_frames: int = 75  # 1.5 s without another detection

    def validate(self) -> None:
        for name in ("infer_every", "average", "min_count", "suppression_frames"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {v!r}")
        if self.min_count > self.average:
            raise ConfigError(f"min_count ({self.min_count}) > average ({self.average})")
        if not 0 < self.threshold < 1000:
            raise ConfigError(f"threshold must be in (0, 1000), got {self.threshold}")

    def to_dict(self) -> dict:
        return asdict(self)


def threshold_q(params: RecognizerParams, output_scale: float) -> int:
    """The threshold in int8 logit steps (at least 1)."""
    return max(1, int(round(params.threshold / output_scale)))


def is_keyword(labels: list[str]) -> np.ndarray:
    """Classes that can be detected: every label but the ``_``-prefixed ones."""
    return np.array([not name.startswith("_") for name in labels])


@dataclass
class Detection:
    inference: int  # index of the inference that decided
    frame: int  # the newest feature frame of its window
    label: int
    lead: int  # sum over the window of (keyword - runner-up) int8 logits
    count: int  # inferences in the window


def decide(logits: np.ndarray, first_frame: int, keyword: np.ndarray, params: RecognizerParams,
           thr_q: int) -> list[Detection]:  # fmt: skip
    """Detections from a sequence of int8 logits [inferences, classes]; inference i sees the
    window whose newest frame is ``first_frame + i * infer_every``."""
    logits = np.asarray(logits, np.int32)
    out: list[Detection] = []
    last = None
    for i in range(len(logits)):
        window = logits[max(0, i + 1 - params.average) : i + 1]
        sums = window.sum(axis=0)
        top = int(sums.argmax())  # lowest index on ties, as the C loop
        runner = int(np.max(np.delete(sums, top)))
        lead, n = int(sums[top]) - runner, len(window)
        frame = first_frame + i * params.infer_every
        recent = last is not None and frame - last < params.suppression_frames
        if n >= params.min_count and keyword[top] and lead >= thr_q * n and not recent:
            out.append(Detection(i, frame, top, lead, n))
            last = frame
    return out

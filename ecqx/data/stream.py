"""A long test stream for streaming recognition: clips of the test split (keywords and other
words) at known times, separated by pauses, over a continuous background-noise bed, as
TensorFlow's streaming accuracy test builds one. Deterministic for a seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecqx.data.gsc import LABELS, SILENCE, UNKNOWN


@dataclass
class Event:
    label: str
    start: float  # seconds: the 1 s clip spans [start, start + 1)
    clip: int  # index of the clip in the split


@dataclass
class Stream:
    pcm: np.ndarray  # int16 [samples]
    events: list[Event]  # every clip placed, keywords and other words
    sample_rate: int

    @property
    def seconds(self) -> float:
        return self.pcm.size / self.sample_rate


def make_stream(audio: np.ndarray, labels: np.ndarray, noises: list[np.ndarray], seconds: float,
                seed: int = 0, sample_rate: int = 16000, hop: int = 320,
                noise_level: float = 0.02, keyword_share: float = 0.7) -> Stream:  # fmt: skip
    """``audio`` float [N, 1 s] clips with ``labels`` (indices into LABELS); silence rows are
    skipped. Clips start 0.3-1.5 s after the previous one ends; ``keyword_share`` of them are
    keywords. The length is a whole number of hops."""
    rng = np.random.default_rng(seed)
    words = np.flatnonzero(labels != LABELS.index(SILENCE))
    keyword = words[labels[words] != LABELS.index(UNKNOWN)]
    other = words[labels[words] == LABELS.index(UNKNOWN)]
    n = int(seconds * sample_rate) // hop * hop
    clip_len = audio.shape[1]
    out = np.zeros(n, np.float64)
    events = []
    at = int(rng.uniform(0.3, 1.0) * sample_rate)
    while at + clip_len <= n:
        pool = keyword if (rng.random() < keyword_share or other.size == 0) else other
        k = int(pool[rng.integers(pool.size)])
        out[at : at + clip_len] += audio[k]
        events.append(Event(LABELS[labels[k]], at / sample_rate, k))
        at += clip_len + int(rng.uniform(0.3, 1.5) * sample_rate)
    if noises:
        bed = np.concatenate([noises[i] for i in rng.permutation(len(noises))])
        reps = int(np.ceil(n / bed.size))
        out += noise_level * np.tile(bed, reps)[:n] / (np.abs(bed).max() + 1e-9)
    pcm = np.clip(np.rint(out * 32768.0), -32768, 32767).astype(np.int16)
    return Stream(pcm, events, sample_rate)

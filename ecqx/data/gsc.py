"""Google Speech Commands (v0.02 layout) for the standard 12-class keyword-spotting task.

Follows the TensorFlow speech_commands example: classes ``_silence_``, ``_unknown_`` and the
ten core words; a file's split comes from ``validation_list.txt`` / ``testing_list.txt``
(everything else trains); each split gets silence and unknown samples at 10% of its core-word
count; training clips are augmented with a +-100 ms time shift and, with probability 0.8,
background noise at a volume up to 0.1.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ecqx.data.audio import SAMPLE_RATE, DataError, read_wav
from ecqx.data.cache import cached
from ecqx.data.corpus import CORE_WORDS
from ecqx.data.features import DEFAULT_MFCC, MfccParams, mfcc
from ecqx.data.fixed_mfcc import to_pcm16
from ecqx.data.synth import NOISE_DIR, speaker_families

SILENCE, UNKNOWN = "_silence_", "_unknown_"
LABELS = (SILENCE, UNKNOWN) + CORE_WORDS
SILENCE_PERCENT = UNKNOWN_PERCENT = 10
TIME_SHIFT = SAMPLE_RATE // 10
NOISE_PROB, NOISE_VOLUME = 0.8, 0.1
SPLITS = ("training", "validation", "testing")


@dataclass
class Split:
    """Raw 1 s clips (N, 16000) float32 and labels; silence rows are all-zero clips that get
    background noise (as in the TF example)."""

    audio: np.ndarray
    labels: np.ndarray
    names: list[str]


def _fit(x: np.ndarray) -> np.ndarray:
    if len(x) >= SAMPLE_RATE:
        return x[:SAMPLE_RATE]
    return np.pad(x, (0, SAMPLE_RATE - len(x)))


def check_layout(root: Path) -> None:
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"dataset folder {root} does not exist; pass --data with a Speech Commands copy "
            f"or create the stand-in with `ecqx data synth --out {root}`"
        )
    missing = [n for n in ("validation_list.txt", "testing_list.txt") if not (root / n).is_file()]
    missing += [w for w in CORE_WORDS if not (root / w).is_dir()]
    if missing:
        raise DataError(
            f"{root} is not a Speech Commands folder: missing {', '.join(missing)}; expected one "
            "folder per word, validation_list.txt, testing_list.txt and _background_noise_/"
        )


def list_files(
    root: Path, keep: Callable[[str], bool] | None = None
) -> dict[str, list[tuple[str, int]]]:
    """split -> [(relative path, label index)] with the unknown words subsampled to 10%;
    ``keep(speaker id)`` selects speakers (all by default)."""
    check_layout(root)
    lists = {
        s: set((root / f"{s}_list.txt").read_text().split()) for s in ("validation", "testing")
    }
    for s, names in lists.items():
        stray = [n for n in names if not (root / n).is_file()]
        if stray:
            raise DataError(f"{s}_list.txt names {len(stray)} missing files, e.g. {stray[0]}")
    core: dict[str, list] = {s: [] for s in SPLITS}
    unknown: dict[str, list] = {s: [] for s in SPLITS}
    # word folders: not _background_noise_, _impulse_responses_ or hidden folders (caches)
    words = sorted(p for p in root.iterdir() if p.is_dir() and p.name[0] not in "_.")
    for d in words:
        for f in sorted(d.glob("*.wav")):
            if keep is not None and not keep(f.name.split("_nohash_")[0]):
                continue
            rel = f"{d.name}/{f.name}"
            split = next((s for s, n in lists.items() if rel in n), "training")
            if d.name in CORE_WORDS:
                core[split].append((rel, LABELS.index(d.name)))
            else:
                unknown[split].append((rel, LABELS.index(UNKNOWN)))
    out = {}
    for s in SPLITS:
        rng = np.random.default_rng(SPLITS.index(s))
        n_extra = max(1, len(core[s]) * UNKNOWN_PERCENT // 100)
        pick = rng.permutation(len(unknown[s]))[:n_extra]
        n_sil = max(1, len(core[s]) * SILENCE_PERCENT // 100)
        out[s] = core[s] + [unknown[s][i] for i in sorted(pick)] + [("", 0)] * n_sil
    return out


def load_noises(root: Path) -> list[np.ndarray]:
    d = Path(root) / NOISE_DIR
    files = sorted(d.glob("*.wav")) if d.is_dir() else []
    if not files:
        raise DataError(f"{d} holds no wav files; silence and noise augmentation need them")
    return [read_wav(f) for f in files]


def load_split(root: Path, files: list[tuple[str, int]], progress: bool = True) -> Split:
    audio = np.zeros((len(files), SAMPLE_RATE), dtype=np.float32)
    for i, (rel, _) in enumerate(tqdm(files, desc="reading wavs", disable=not progress)):
        if rel:
            audio[i] = _fit(read_wav(Path(root) / rel))
    return Split(audio, np.array([lab for _, lab in files], dtype=np.int64), [f for f, _ in files])


def add_noise(
    audio: np.ndarray,
    labels: np.ndarray,
    noises: list[np.ndarray],
    rng: np.random.Generator,
    augment: bool,
) -> np.ndarray:
    """Silence rows always get noise; with ``augment`` the others get time shift and noise."""
    out = audio.copy()
    n = len(out)
    if augment:
        shifts = rng.integers(-TIME_SHIFT, TIME_SHIFT + 1, n)
        for i, s in enumerate(shifts):
            if s > 0:
                out[i] = np.concatenate([np.zeros(s, np.float32), out[i, :-s]])
            elif s < 0:
                out[i] = np.concatenate([out[i, -s:], np.zeros(-s, np.float32)])
    silence = labels == LABELS.index(SILENCE)
    noisy = silence | ((rng.random(n) < NOISE_PROB) if augment else np.zeros(n, bool))
    for i in np.nonzero(noisy)[0]:
        bg = noises[rng.integers(len(noises))]
        start = rng.integers(0, len(bg) - SAMPLE_RATE + 1)
        vol = rng.uniform(0, 1.0 if silence[i] else NOISE_VOLUME)
        out[i] = np.clip(out[i] + vol * bg[start : start + SAMPLE_RATE], -1, 1)
    return out


class GSCData:
    """Loads a Speech Commands folder once (audio cached as .npz, keyed by the file list and
    sizes) and produces MFCC features: fixed ones for validation/testing (cached, keyed by data
    and MFCC parameters), freshly augmented ones for each training epoch."""

    def __init__(
        self,
        root: Path,
        params: MfccParams = DEFAULT_MFCC,
        cache_dir: Path | None = None,
        progress: bool = True,
        families: tuple[str, ...] | None = None,
    ) -> None:
        """``families``: only the speakers of these engine families of a synthesized stand-in
        (its SYNTH_INFO.json says who is who); all speakers by default."""
        # absolute, so a checkpoint's record of its data works from any folder
        self.root = Path(root).resolve()
        self.params = params
        self.progress = progress
        self.families = tuple(sorted(families)) if families is not None else None
        keep = None
        if families is not None:
            family_of = speaker_families(self.root)
            keep = lambda sid: family_of.get(sid) in families  # noqa: E731
        self.files = list_files(self.root, keep)
        if families is not None and not any(f for v in self.files.values() for f, _ in v):
            raise DataError(f"{self.root}: no clips of the engine families {families}")
        self.noises = load_noises(self.root)
        key = hashlib.sha256(
            json.dumps(
                {
                    s: [(f, (self.root / f).stat().st_size if f else 0) for f, _ in v]
                    for s, v in self.files.items()
                }
            ).encode()
        ).hexdigest()[:16]
        self.key = key
        self.cache_dir = Path(cache_dir) if cache_dir else self.root / ".ecqx-cache"
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        self.splits = {s: self._load_cached(s) for s in SPLITS}

    def _load_cached(self, split: str) -> Split:
        def build() -> dict[str, np.ndarray]:
            data = load_split(self.root, self.files[split], self.progress)
            return {"audio": data.audio, "labels": data.labels, "names": np.array(data.names)}

        z = cached(self.cache_dir / f"audio-{split}-{self.key}.npz", build)
        return Split(z["audio"], z["labels"], list(z["names"]))

    def features(
        self, split: str, epoch: int | None = None, seed: int = 0, keep: bool = False
    ) -> np.ndarray:
        """MFCCs of a split. ``epoch`` given (training): augmented, deterministic for (seed,
        epoch), and with ``keep`` stored in the cache for the next call. Otherwise the fixed,
        cached features (silence gets fixed noise)."""
        data = self.splits[split]
        pkey = hashlib.sha256(json.dumps(self.params.to_dict()).encode()).hexdigest()[:8]
        if epoch is not None:

            def augmented() -> dict[str, np.ndarray]:
                rng = np.random.default_rng([seed, epoch])
                audio = add_noise(data.audio, data.labels, self.noises, rng, True)
                return {"features": mfcc(audio, self.params)}

            if not keep:
                return augmented()["features"]
            name = f"aug-{split}-{self.key}-{pkey}-s{seed}-e{epoch}.npz"
            return cached(self.cache_dir / name, augmented)["features"]

        def build() -> dict[str, np.ndarray]:
            return {"features": mfcc(self._fixed_audio(split), self.params)}

        return cached(self.cache_dir / f"mfcc-{split}-{self.key}-{pkey}.npz", build)["features"]

    def _fixed_audio(self, split: str) -> np.ndarray:
        data = self.splits[split]
        rng = np.random.default_rng(SPLITS.index(split) + 1000)
        return add_noise(data.audio, data.labels, self.noises, rng, False)

    def pcm(self, split: str) -> np.ndarray:
        """The 16-bit PCM clips [N, samples] that ``features(split)`` is computed from (the
        fixed-point front end takes exactly these), for checks of a front end on a device."""
        return to_pcm16(self._fixed_audio(split))

    def labels(self, split: str) -> np.ndarray:
        return self.splits[split].labels

"""Offline stand-in for Google Speech Commands v0.02, built from Debian's speech synthesizers.

Same on-disk layout as the real corpus: one folder per word with 1 s 16 kHz mono 16-bit wavs
named ``<speaker>_nohash_<n>.wav``, ``validation_list.txt``, ``testing_list.txt`` and
``_background_noise_/`` (plus ``_impulse_responses_/``, the simulated rooms). A "speaker" is one
synthesizer configuration of one engine family (``voices``); splits are speaker-disjoint, as
in the real corpus. Each speaker says every core word ``CORE_UTTERANCES`` times and every other
word once, each utterance augmented differently (``augment``): tempo, pitch, room, channel,
noise (including babble of other speakers), gain, clipping.

``SYNTH_INFO.json`` records the settings (size, seed, families), each family's share of the
speakers, and the speaker table (engine, voice, split). ``GSCData`` uses the table to leave an
engine family out (``families``). Resumable per speaker; the same seed writes the same bytes.
"""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import os
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ecqx.data.audio import SAMPLE_RATE, DataError, write_wav
from ecqx.data.augment import RIR_DIR, ROOMS, augment_clip, babble, make_rooms, speaker_voice
from ecqx.data.corpus import AUX_WORDS, CORE_UTTERANCES, GSC_WORDS, SIZES, utterances
from ecqx.data.voices import (
    DEFAULT_FAMILIES,
    WARP_RANGE,
    Speaker,
    check_warp_range,
    make_speakers,
    synthesize,
)
from ecqx.files import atomic_write

NOISE_SECONDS = 20
BABBLE_TRACKS, BABBLE_TALKERS, BABBLE_SPEAKERS = 3, 6, 8
INFO_FILE = "SYNTH_INFO.json"
NOISE_DIR = "_background_noise_"


def clip_names(speaker: Speaker) -> list[tuple[str, int, str]]:
    """(word, index, relative path) of every clip of ``speaker``."""
    return [
        (w, i, f"{w}/{speaker.id}_nohash_{i}.wav") for w in GSC_WORDS for i in range(utterances(w))
    ]


def _save_wav(path: Path, x: np.ndarray) -> None:
    buf = io.BytesIO()
    write_wav(buf, x)
    atomic_write(path, lambda f: f.write(buf.getvalue()))


def _speaker_task(task: tuple) -> tuple[int, list[str]]:
    """Synthesize and augment every missing clip of one speaker; (clips written, failures)."""
    speaker, seed, out, rooms, noises = task
    out = Path(out)
    todo = [c for c in clip_names(speaker) if not (out / c[2]).exists()]
    if not todo:
        return 0, []
    try:
        dry = synthesize(speaker, sorted({w for w, _, _ in todo}))
    except (subprocess.CalledProcessError, DataError, OSError) as e:
        return 0, [f"{speaker.id} ({speaker.engine} {speaker.voice}): {type(e).__name__}: {e}"]
    voiced = {w: speaker_voice(x, speaker.semitones, speaker.warp) for w, x in dry.items()}
    for word, index, rel in todo:
        clip_seed = (seed, int(speaker.id, 16), GSC_WORDS.index(word), index)
        _save_wav(out / rel, augment_clip(voiced[word], clip_seed, rooms, noises))
    return len(todo), []


def background_noises(seconds: int, seed: int) -> dict[str, np.ndarray]:
    """Synthetic stand-ins for GSC's noise recordings (white, pink, brown, hum, running tap)."""
    rng = np.random.default_rng(seed)
    n = seconds * SAMPLE_RATE
    t = np.arange(n) / SAMPLE_RATE
    white = rng.standard_normal(n)
    pink = np.cumsum(rng.standard_normal(n))
    pink -= np.convolve(pink, np.ones(400) / 400, mode="same")
    brown = np.cumsum(rng.standard_normal(n))
    brown -= np.convolve(brown, np.ones(4000) / 4000, mode="same")
    hum = sum(np.sin(2 * np.pi * 50 * k * t + rng.uniform(0, 6.3)) / k for k in (1, 2, 3, 5))
    tap = np.convolve(white, np.ones(8) / 8, mode="same") * (1 + 0.5 * np.sin(2 * np.pi * 3 * t))
    noises = {
        "white_noise": white,
        "pink_noise": pink,
        "brown_noise": brown,
        "hum": hum + 0.1 * white,
        "running_tap": tap,
    }
    return {k: (0.5 * v / np.abs(v).max()).astype(np.float32) for k, v in noises.items()}


def write_noises(
    out: Path,
    seed: int,
    families: tuple[str, ...],
    warp_range: tuple[float, float] = WARP_RANGE,
) -> list[Path]:
    """``_background_noise_/``: the synthetic noises plus babble tracks, spoken by speakers
    drawn apart from the dataset's (another seed), so no split's voice is in the noise."""
    noise_dir = out / NOISE_DIR
    noise_dir.mkdir(exist_ok=True)
    for name, x in background_noises(NOISE_SECONDS, seed).items():
        if not (noise_dir / f"{name}.wav").is_file():
            _save_wav(noise_dir / f"{name}.wav", x)
    tracks = [noise_dir / f"babble_{k}.wav" for k in range(BABBLE_TRACKS)]
    if not all(t.is_file() for t in tracks):
        words = []
        for s in make_speakers(BABBLE_SPEAKERS, seed + 104729, families, warp_range):
            dry = synthesize(s, list(AUX_WORDS[::3]))
            words += [speaker_voice(x, s.semitones, s.warp) for x in dry.values()]
        for k, t in enumerate(tracks):
            _save_wav(t, babble(words, NOISE_SECONDS, BABBLE_TALKERS, seed + k))
    return sorted(noise_dir.glob("*.wav"))


def split_speakers(speakers: list[Speaker], seed: int, test_only: bool = False) -> dict[str, str]:
    """speaker id -> 'testing' | 'validation' | 'training' (10% / 10% / rest, at least one
    speaker each), speaker-disjoint like the real corpus; all 'testing' if ``test_only``."""
    ids = sorted(s.id for s in speakers)
    if test_only:
        return dict.fromkeys(ids, "testing")
    np.random.default_rng(seed).shuffle(ids)
    k = max(1, round(0.1 * len(ids)))
    return {
        i: ("testing" if j < k else "validation" if j < 2 * k else "training")
        for j, i in enumerate(ids)
    }


def _settings(
    size: str,
    seed: int,
    families: tuple[str, ...],
    test_only: bool,
    warp_range: tuple[float, float],
) -> dict:
    return {"size": size, "seed": seed, "families": list(families), "test_only": test_only,
            "warp": list(warp_range)}  # fmt: skip


def claim_folder(out: Path, settings: dict, force: bool = False) -> None:
    """Make ``out`` a stand-in made with ``settings``, or raise a DataError.

    Resuming is only safe with the same settings: another seed draws other speakers and other
    splits, so earlier test speakers would become training data. The settings are recorded
    before the first clip, so an interrupted run is recognised too."""
    info_path = out / INFO_FILE
    made = None
    if info_path.is_file():
        try:
            info = json.loads(info_path.read_text())
            # stand-ins made before --warp existed used WARP_RANGE
            made = {k: info[k] if k != "warp" else info.get(k, list(WARP_RANGE))
                    for k in settings}  # fmt: skip
        except (json.JSONDecodeError, KeyError, TypeError):
            made = None
        if made != settings:
            if not force:
                was = ", ".join(f"{k} {v}" for k, v in made.items()) if made else "other settings"
                raise DataError(
                    f"{out.resolve()} holds a stand-in made with {was}; adding clips made with "
                    "other settings would mix their speakers across splits. Use another --out, "
                    "or --force to delete that stand-in and start over"
                )
            for w in GSC_WORDS:
                for f in (out / w).glob("*_nohash_*.wav"):
                    f.unlink()
            for d in (".ecqx-cache", NOISE_DIR, RIR_DIR):
                shutil.rmtree(out / d, ignore_errors=True)
    elif any(out.glob("*/*.wav")):
        raise DataError(
            f"{out.resolve()} already holds wav files that `ecqx data synth` did not write; "
            "synthesize into an empty or new folder"
        )
    if made != settings:
        out.mkdir(parents=True, exist_ok=True)
        info_path.write_text(json.dumps(settings | {"complete": False}))


def speaker_families(root: Path) -> dict[str, str]:
    """speaker id -> engine family, from the stand-in's SYNTH_INFO.json."""
    path = Path(root) / INFO_FILE
    try:
        table = json.loads(path.read_text())["speaker_table"]
        return {sid: row["engine"] for sid, row in table.items()}
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise DataError(
            f"{path}: no complete speaker table ({type(e).__name__}); engine families are only "
            "known for a finished `ecqx data synth` folder"
        ) from e


def generate(
    out: Path,
    size: str = "default",
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    force: bool = False,
    families: tuple[str, ...] = DEFAULT_FAMILIES,
    test_only: bool = False,
    warp_range: tuple[float, float] = WARP_RANGE,
) -> dict:
    """Write a GSC-layout stand-in to ``out``; resumes an interrupted run with the same
    settings, refuses a folder made with other settings unless ``force`` (which deletes that
    stand-in first). ``families`` limits the engine families; ``test_only`` lists every clip
    for testing (a held-out set); ``warp_range`` bounds the speakers' vocal-tract factors.
    Returns the summary written to SYNTH_INFO.json."""
    if size not in SIZES:
        raise DataError(f"unknown size {size!r}; choose one of {sorted(SIZES)}")
    out = Path(out)
    families = tuple(families)
    warp_range = check_warp_range(warp_range)
    settings = _settings(size, seed, families, test_only, warp_range)
    claim_folder(out, settings, force)
    speakers = make_speakers(SIZES[size], seed, families, warp_range)
    split = split_speakers(speakers, seed, test_only)
    for w in GSC_WORDS:
        (out / w).mkdir(parents=True, exist_ok=True)
    noises = write_noises(out, seed, families, warp_range)
    rooms = make_rooms(out / RIR_DIR, ROOMS, seed)
    tasks = [(s, seed, str(out), rooms, noises) for s in speakers]
    total = sum(len(clip_names(s)) for s in speakers)
    failures: list[str] = []
    workers = workers or min(os.cpu_count() or 1, 8)
    with (
        mp.get_context("fork").Pool(workers) as pool,
        tqdm(total=total, desc="synthesizing", unit="clip", disable=not progress) as bar,
    ):
        bar.update(sum((out / rel).exists() for s in speakers for _, _, rel in clip_names(s)))
        for written, errors in pool.imap_unordered(_speaker_task, tasks):
            bar.update(written)
            failures += errors
    lists: dict[str, list[str]] = {"validation": [], "testing": []}
    for s in sorted(speakers, key=lambda s: s.id):
        if split[s.id] in lists:
            lists[split[s.id]] += [rel for _, _, rel in clip_names(s) if (out / rel).is_file()]
    for which, names in lists.items():
        (out / f"{which}_list.txt").write_text("".join(n + "\n" for n in sorted(names)))
    counts = {f: sum(s.engine == f for s in speakers) for f in families}
    summary = settings | {
        "speakers": len(speakers),
        "clips": sum(1 for _ in out.glob("*/*_nohash_*.wav")),
        "core_utterances": CORE_UTTERANCES,
        "family_share": {f: {"speakers": n, "share": n / len(speakers)} for f, n in counts.items()},
        "failures": failures,
        "speaker_table": {s.id: asdict(s) | {"split": split[s.id]} for s in speakers},
        "complete": True,
    }
    (out / INFO_FILE).write_text(json.dumps(summary, indent=1))
    return summary

"""Offline stand-in for Google Speech Commands v0.02, built from Debian's speech synthesizers.

Same on-disk layout as the real corpus: one folder per word with 1 s 16 kHz mono 16-bit wavs
named ``<speaker>_nohash_<n>.wav``, ``validation_list.txt``, ``testing_list.txt`` and
``_background_noise_/``. A "speaker" is one synthesizer configuration (engine, accent, voice
variant, pitch, speed); splits are speaker-disjoint, as in the real corpus. Every clip is placed
at a random offset in the 1 s window, scaled randomly and gets a noise floor, because digital
silence makes float and fixed-point log-mel features disagree wildly.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.signal import resample_poly
from tqdm import tqdm

from ecqx.data.audio import SAMPLE_RATE, DataError, read_wav_bytes, write_wav

CORE_WORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
AUX_WORDS = (
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "bed",
    "bird",
    "cat",
    "dog",
    "happy",
    "house",
    "marvin",
    "sheila",
    "tree",
    "wow",
    "backward",
    "forward",
    "follow",
    "learn",
    "visual",
)
GSC_WORDS = CORE_WORDS + AUX_WORDS

ESPEAK_ACCENTS = (
    "en-us",
    "en-gb",
    "en-gb-scotland",
    "en-gb-x-gbclan",
    "en-gb-x-rp",
    "en-gb-x-gbcwmd",
    "en-029",
    "en-us-nyc",
)
# Variants that sound like robots or effects rather than speakers.
_EXCLUDED_VARIANTS = re.compile(r"robo|robot|demonic|whisper|croak|tweaky| ", re.IGNORECASE)
FLITE_VOICES = ("kal16", "awb", "rms", "slt")

SIZES = {"tiny": 6, "small": 40, "default": 300}
NOISE_SECONDS = 20


@dataclass(frozen=True)
class Speaker:
    engine: str  # "espeak" or "flite"
    voice: str  # espeak accent or flite voice
    variant: str  # espeak variant file name ("" for flite)
    pitch: int  # espeak 0..99; flite mean F0 in Hz
    speed: float  # espeak words/min; flite duration stretch

    @property
    def id(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:8]


def espeak_variants() -> list[str]:
    """Variant names that really exist (an unknown name silently falls back to the default)."""
    if shutil.which("espeak-ng") is None:
        raise DataError("espeak-ng is not installed: sudo apt-get install espeak-ng flite")
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"Data at:\s*(\S+)", out)
    vdir = Path(m.group(1) if m else "/usr/share/espeak-ng-data") / "voices" / "!v"
    names = sorted(p.name for p in vdir.iterdir() if p.is_file()) if vdir.is_dir() else []
    names = [n for n in names if not _EXCLUDED_VARIANTS.search(n)]
    if not names:
        raise DataError(f"no espeak-ng voice variants found under {vdir}")
    return names


def make_speakers(n: int, seed: int) -> list[Speaker]:
    """n distinct speakers, about 80% espeak-ng and 20% flite, deterministic for a seed."""
    if shutil.which("flite") is None:
        raise DataError("flite is not installed: sudo apt-get install espeak-ng flite")
    rng = np.random.default_rng(seed)
    variants = espeak_variants()
    speakers: dict[str, Speaker] = {}
    while len(speakers) < n:
        if rng.random() < 0.2:
            s = Speaker(
                "flite",
                str(rng.choice(FLITE_VOICES)),
                "",
                int(rng.integers(80, 220)),
                round(float(rng.uniform(0.8, 1.3)), 2),
            )
        else:
            s = Speaker(
                "espeak",
                str(rng.choice(ESPEAK_ACCENTS)),
                str(rng.choice(variants)),
                int(rng.integers(15, 90)),
                int(rng.integers(100, 171)),
            )
        speakers.setdefault(s.id, s)
    return list(speakers.values())


def synthesize(speaker: Speaker, word: str) -> np.ndarray:
    """Raw synthesized audio of one word at 16 kHz."""
    if speaker.engine == "espeak":
        voice = f"{speaker.voice}+{speaker.variant}"
        cmd = ["espeak-ng", "-v", voice, "-p", str(speaker.pitch), "-s", str(int(speaker.speed))]
        data = subprocess.run(cmd + ["--stdout", word], capture_output=True, check=True).stdout
    else:
        with tempfile.NamedTemporaryFile(suffix=".wav") as f:
            subprocess.run(
                [
                    "flite",
                    "-voice",
                    speaker.voice,
                    "-t",
                    word,
                    "-o",
                    f.name,
                    "--setf",
                    f"duration_stretch={speaker.speed}",
                    "--setf",
                    f"int_f0_target_mean={speaker.pitch}",
                ],
                capture_output=True,
                check=True,
            )
            data = Path(f.name).read_bytes()
    x, rate = read_wav_bytes(data)
    if rate != SAMPLE_RATE:
        g = np.gcd(rate, SAMPLE_RATE)
        x = resample_poly(x, SAMPLE_RATE // g, rate // g).astype(np.float32)
    return x


def _trim(x: np.ndarray, threshold: float = 0.02) -> np.ndarray:
    loud = np.nonzero(np.abs(x) > threshold * max(1e-9, float(np.abs(x).max())))[0]
    return x[loud[0] : loud[-1] + 1] if loud.size else x


def noise_floor(n: int, rng: np.random.Generator) -> np.ndarray:
    """White/pink noise mixture at -60..-40 dBFS."""
    white = rng.standard_normal(n)
    pink = np.cumsum(rng.standard_normal(n))
    pink -= np.convolve(pink, np.ones(200) / 200, mode="same")
    pink /= max(1e-9, pink.std())
    mix = rng.uniform(0, 1)
    level = 10 ** (rng.uniform(-60, -40) / 20)
    return (level * (mix * white + (1 - mix) * pink)).astype(np.float32)


def place_in_window(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Trim, fit into 1 s (time-compress if needed), random offset and gain, noise floor."""
    x = _trim(x)
    max_len = int(0.95 * SAMPLE_RATE)
    if len(x) > max_len:
        x = resample_poly(x, max_len, len(x)).astype(np.float32)[:max_len]
    out = np.zeros(SAMPLE_RATE, dtype=np.float32)
    start = int(rng.integers(0, SAMPLE_RATE - len(x) + 1))
    out[start : start + len(x)] = x / max(1e-9, float(np.abs(x).max())) * rng.uniform(0.2, 0.9)
    return np.clip(out + noise_floor(SAMPLE_RATE, rng), -1.0, 1.0)


def _clip_task(task: tuple) -> tuple[str, str | None]:
    speaker, word, index, seed, out_dir = task
    name = f"{word}/{speaker.id}_nohash_{index}.wav"
    rng = np.random.default_rng([seed, int(speaker.id, 16), GSC_WORDS.index(word), index])
    try:
        x = place_in_window(synthesize(speaker, word), rng)
    except (subprocess.CalledProcessError, DataError) as e:
        return name, f"{type(e).__name__}: {e}"
    write_wav(Path(out_dir) / name, x)
    return name, None


def background_noises(seconds: int, seed: int) -> dict[str, np.ndarray]:
    """Synthetic stand-ins for GSC's noise recordings."""
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


def split_speakers(speakers: list[Speaker], seed: int) -> dict[str, str]:
    """speaker id -> 'testing' | 'validation' | 'training' (10% / 10% / rest, at least one
    speaker each), speaker-disjoint like the real corpus."""
    ids = sorted(s.id for s in speakers)
    np.random.default_rng(seed).shuffle(ids)
    k = max(1, round(0.1 * len(ids)))
    return {
        i: ("testing" if j < k else "validation" if j < 2 * k else "training")
        for j, i in enumerate(ids)
    }


INFO_FILE = "SYNTH_INFO.json"


def claim_folder(out: Path, size: str, seed: int, force: bool = False) -> None:
    """Make ``out`` a stand-in of this size and seed, or raise a DataError.

    Resuming is only safe with the same settings: another seed draws other speakers and other
    splits, so earlier test speakers would become training data. The settings are recorded
    before the first clip, so an interrupted run is recognised too."""
    info_path = out / INFO_FILE
    made = None
    if info_path.is_file():
        try:
            info = json.loads(info_path.read_text())
            made = (info["size"], info["seed"])
        except (json.JSONDecodeError, KeyError, TypeError):
            made = None
        if made != (size, seed):
            if not force:
                was = f"size {made[0]}, seed {made[1]}" if made else "unreadable settings"
                raise DataError(
                    f"{out.resolve()} holds a stand-in made with {was}; adding size {size}, seed "
                    f"{seed} would mix their speakers across splits. Use another --out, or "
                    "--force to delete that stand-in and start over"
                )
            for w in GSC_WORDS:
                for f in (out / w).glob("*_nohash_*.wav"):
                    f.unlink()
            shutil.rmtree(out / ".ecqx-cache", ignore_errors=True)
    elif any(out.glob("*/*.wav")):
        raise DataError(
            f"{out.resolve()} already holds wav files that `ecqx data synth` did not write; "
            "synthesize into an empty or new folder"
        )
    if made != (size, seed):
        out.mkdir(parents=True, exist_ok=True)
        info_path.write_text(json.dumps({"size": size, "seed": seed, "complete": False}))


def generate(
    out: Path,
    size: str = "default",
    seed: int = 0,
    workers: int | None = None,
    progress: bool = True,
    force: bool = False,
) -> dict:
    """Write a GSC-layout stand-in to ``out``; resumes an interrupted run of the same size and
    seed, refuses a folder made with other settings unless ``force`` (which deletes that
    stand-in first). Returns a summary."""
    if size not in SIZES:
        raise ValueError(f"unknown size {size!r}; choose one of {sorted(SIZES)}")
    out = Path(out)
    claim_folder(out, size, seed, force)
    speakers = make_speakers(SIZES[size], seed)
    split = split_speakers(speakers, seed)
    for w in GSC_WORDS:
        (out / w).mkdir(parents=True, exist_ok=True)
    tasks = [
        (s, w, 0, seed, str(out))
        for s in speakers
        for w in GSC_WORDS
        if not (out / w / f"{s.id}_nohash_0.wav").exists()  # resume: keep finished clips
    ]
    failures = []
    workers = workers or min(os.cpu_count() or 1, 8)
    with mp.get_context("fork").Pool(workers) as pool:
        it = pool.imap_unordered(_clip_task, tasks, chunksize=16)
        for name, err in tqdm(it, total=len(tasks), desc="synthesizing", disable=not progress):
            if err:
                failures.append(f"{name}: {err}")
    noise_dir = out / "_background_noise_"
    noise_dir.mkdir(exist_ok=True)
    for name, x in background_noises(NOISE_SECONDS, seed).items():
        write_wav(noise_dir / f"{name}.wav", x)
    lists: dict[str, list[str]] = {"validation": [], "testing": []}
    for w in GSC_WORDS:
        for f in sorted((out / w).glob("*.wav")):
            which = split.get(f.name.split("_nohash_")[0])
            if which in lists:
                lists[which].append(f"{w}/{f.name}")
    (out / "validation_list.txt").write_text("".join(x + "\n" for x in lists["validation"]))
    (out / "testing_list.txt").write_text("".join(x + "\n" for x in lists["testing"]))
    summary = {
        "size": size,
        "seed": seed,
        "speakers": len(speakers),
        "clips": sum(1 for _ in out.glob("*/*_nohash_*.wav")),
        "failures": failures,
        "speaker_table": {s.id: asdict(s) | {"split": split[s.id]} for s in speakers},
        "complete": True,
    }
    (out / INFO_FILE).write_text(json.dumps(summary, indent=1))
    return summary

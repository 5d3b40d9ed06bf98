"""The speakers of the Speech Commands stand-in: engine families of speech synthesizers.

- ``espeak``: espeak-ng (formant synthesis), English accents x voice variants, pitch 0..99 and
  rate in words/min set by espeak itself;
- ``flite``: flite's diphone/cluster voices (kal16, awb, rms, slt), mean F0 in Hz and duration
  stretch set by flite;
- ``festival``: Festival with its English voices from Debian main (kal and ked diphone voices,
  the HTS voice slt); duration stretch set by Festival, the pitch as a shift in semitones
  applied afterwards (the HTS voice has no F0 target to set);
- ``accented``: Festival's non-English voices from Debian main (Italian, Czech, Finnish,
  Catalan) reading the English words by their own letter-to-sound rules - speakers with a
  foreign accent, as GSC has many. Settings as for ``festival``. Not in the default stand-in
  (``DEFAULT_FAMILIES``); Debian's Hindi, Marathi and Telugu voices crash on Latin text and the
  Russian one does not read it, so they are not used.
- ``neural``: Piper, a VITS neural synthesizer, with a CC0 US-English voice (``neural_voice``),
  from PyPI rather than Debian: the only engine of the stand-in trained on recorded speech, so
  its timing and spectra are the nearest to a real talker's. One base voice; its speakers differ
  in VITS's random prosody (seeded per speaker), the duration stretch, and a pitch shift in
  semitones applied afterwards, as for ``festival``. Not in the default stand-in.

Every speaker also gets a vocal-tract-length warp (``warp``), applied afterwards to its dry
audio, so that two speakers of one base voice differ in formants as well as pitch and rate.
A speaker's synthesizer settings are its identity: ``Speaker.id`` hashes them."""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ecqx.data import neural_voice
from ecqx.data.audio import SAMPLE_RATE, DataError, read_wav_bytes
from ecqx.data.corpus import GSC_WORDS

FAMILIES = ("espeak", "flite", "festival", "accented", "neural")
# the families of `ecqx data synth` unless told otherwise
DEFAULT_FAMILIES = ("espeak", "flite", "festival")
# share of speakers per family (espeak has by far the most distinct voices)
FAMILY_SHARE = {"espeak": 0.5, "flite": 0.25, "festival": 0.25, "accented": 0.25, "neural": 0.25}
# the package that provides each family: Debian packages (scripts/debian-packages.txt installs
# them), the neural one's from PyPI (pyproject.toml)
PACKAGES = {
    "espeak": "espeak-ng",
    "flite": "flite",
    "festival": "festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts",
    "accented": "festival festvox-italp16k festvox-itapc16k festvox-czech-dita "
    "festvox-czech-machac festvox-czech-krb festvox-czech-ph festvox-suopuhe-lj festvox-suopuhe-mv "
    "festvox-ca-ona-hts",
    "neural": neural_voice.PIP_PACKAGES,
}
# the program each family runs (the neural family runs in-process)
PROGRAMS = {"espeak": "espeak-ng", "flite": "flite", "festival": "festival", "accented": "festival"}
# families whose pitch is a shift in semitones applied after synthesis
SHIFTED_PITCH = ("festival", "accented", "neural")

ESPEAK_ACCENTS = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-rp",
                  "en-gb-x-gbcwmd", "en-029", "en-us-nyc")  # fmt: skip
# range of the per-speaker vocal-tract-length factor (`ecqx data synth --warp`); humans span
# about 0.8..1.2 (child to large adult), the stand-ins of sessions 9-14 used 0.9..1.1
WARP_RANGE = (0.9, 1.1)
WARP_LIMITS = (0.5, 2.0)  # what the warp is checked and sensible for
# Variants that sound like robots or effects rather than speakers.
_EXCLUDED_VARIANTS = re.compile(r"robo|robot|demonic|whisper|croak|tweaky| ", re.IGNORECASE)
FLITE_VOICES = ("kal16", "awb", "rms", "slt")
FESTIVAL_VOICES = ("kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts")
# Festival's Italian voices crash on "no" stretched by 1.29 or more, so the family's duration
# stretch stops at ACCENTED_SLOWEST (every voice and word checked there)
ACCENTED_SLOWEST = 1.2
ACCENTED_VOICES = ("lp_diphone", "pc_diphone", "czech_dita", "czech_machac", "czech_krb",
                   "czech_ph", "suo_fi_lj_diphone", "hy_fi_mv_diphone",
                   "upc_ca_ona_hts")  # fmt: skip


@dataclass(frozen=True)
class Speaker:
    engine: str  # one of FAMILIES
    voice: str  # espeak accent, flite voice or festival voice
    variant: str  # espeak variant file name ("" otherwise)
    pitch: float  # espeak 0..99; flite mean F0 in Hz; festival/accented/neural semitone shift
    speed: float  # espeak words/min; the other families' duration stretch
    warp: float = 1.0  # vocal-tract-length factor: formants scale by this (1 = unchanged)

    @property
    def semitones(self) -> float:
        """Pitch shift applied after synthesis (SHIFTED_PITCH families); the other engines
        set their pitch themselves."""
        return self.pitch if self.engine in SHIFTED_PITCH else 0.0

    @property
    def id(self) -> str:
        return hashlib.sha1(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:8]


def _need(family: str) -> None:
    if family == "neural":
        return neural_voice.need()
    program = PROGRAMS[family]
    if shutil.which(program) is None:
        raise DataError(
            f"{program} is not installed (the {family} voices): apt-get install "
            f"{PACKAGES[family]} (scripts/setup.sh does it)"
        )


def espeak_variants() -> list[str]:
    """Variant names that really exist (an unknown name silently falls back to the default)."""
    _need("espeak")
    out = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True).stdout
    m = re.search(r"Data at:\s*(\S+)", out)
    vdir = Path(m.group(1) if m else "/usr/share/espeak-ng-data") / "voices" / "!v"
    names = sorted(p.name for p in vdir.iterdir() if p.is_file()) if vdir.is_dir() else []
    names = [n for n in names if not _EXCLUDED_VARIANTS.search(n)]
    if not names:
        raise DataError(f"no espeak-ng voice variants found under {vdir}")
    return names


def _draw(
    family: str, rng: np.random.Generator, variants: list[str], warp_range: tuple[float, float]
) -> Speaker:
    # one uniform draw whatever the range, so that another --warp changes only the warps
    warp = round(float(rng.uniform(*warp_range)), 3)
    if family == "espeak":
        return Speaker("espeak", str(rng.choice(ESPEAK_ACCENTS)), str(rng.choice(variants)),
                       int(rng.integers(15, 90)), int(rng.integers(100, 171)), warp)  # fmt: skip
    if family == "flite":
        return Speaker("flite", str(rng.choice(FLITE_VOICES)), "", int(rng.integers(80, 220)),
                       round(float(rng.uniform(0.8, 1.3)), 2), warp)  # fmt: skip
    if family == "festival":
        voices, slowest = FESTIVAL_VOICES, 1.3
    elif family == "neural":
        voices, slowest = (neural_voice.VOICE,), 1.3
    else:
        voices, slowest = ACCENTED_VOICES, ACCENTED_SLOWEST
    return Speaker(family, str(rng.choice(voices)), "",
                   round(float(rng.uniform(-4, 4)), 1), round(float(rng.uniform(0.8, slowest)), 2),
                   warp)  # fmt: skip


def check_warp_range(warp_range: Sequence[float]) -> tuple[float, float]:
    """``warp_range`` as two floats, or a DataError saying what a valid range is."""
    values = [float(v) for v in warp_range]
    lo, hi = values if len(values) == 2 else (math.nan, math.nan)
    if not WARP_LIMITS[0] <= lo <= hi <= WARP_LIMITS[1]:
        raise DataError(
            f"vocal-tract warp range {','.join(f'{v:g}' for v in values)} is not LO,HI with "
            f"{WARP_LIMITS[0]:g} <= LO <= HI <= {WARP_LIMITS[1]:g} (default "
            f"{WARP_RANGE[0]:g},{WARP_RANGE[1]:g})"
        )
    return lo, hi


def make_speakers(
    n: int,
    seed: int,
    families: tuple[str, ...] = DEFAULT_FAMILIES,
    warp_range: tuple[float, float] = WARP_RANGE,
) -> list[Speaker]:
    """``n`` distinct speakers of ``families`` in the shares of FAMILY_SHARE (renormalized),
    each with a vocal-tract factor drawn from ``warp_range``, deterministic for a seed."""
    warp_range = check_warp_range(warp_range)
    unknown = set(families) - set(FAMILIES)
    if unknown or not families:
        raise DataError(f"unknown engine families {sorted(unknown)}; choose from {FAMILIES}")
    for fam in families:
        _need(fam)
    rng = np.random.default_rng(seed)
    variants = espeak_variants() if "espeak" in families else []
    share = np.array([FAMILY_SHARE[f] for f in families])
    share /= share.sum()
    speakers: dict[str, Speaker] = {}
    while len(speakers) < n:
        # the first speakers cover every family, so even a tiny stand-in has them all
        k = len(speakers)
        fam = families[k] if k < len(families) else families[rng.choice(len(families), p=share)]
        s = _draw(fam, rng, variants, warp_range)
        speakers.setdefault(s.id, s)
    return list(speakers.values())


def _resample(x: np.ndarray, rate: int) -> np.ndarray:
    if rate == SAMPLE_RATE:
        return x
    from scipy.signal import resample_poly  # scipy.signal is slow to import: not for --help

    g = np.gcd(rate, SAMPLE_RATE)
    return resample_poly(x, SAMPLE_RATE // g, rate // g).astype(np.float32)


def _espeak(s: Speaker, word: str) -> np.ndarray:
    cmd = ["espeak-ng", "-v", f"{s.voice}+{s.variant}", "-p", str(int(s.pitch)), "-s",
           str(int(s.speed)), "--stdout", word]  # fmt: skip
    x, rate = read_wav_bytes(subprocess.run(cmd, capture_output=True, check=True).stdout)
    return _resample(x, rate)


def _flite(s: Speaker, word: str) -> np.ndarray:
    with tempfile.NamedTemporaryFile(suffix=".wav") as f:
        cmd = ["flite", "-voice", s.voice, "-t", word, "-o", f.name,
               "--setf", f"duration_stretch={s.speed}",
               "--setf", f"int_f0_target_mean={int(s.pitch)}"]  # fmt: skip
        subprocess.run(cmd, capture_output=True, check=True)
        x, rate = read_wav_bytes(Path(f.name).read_bytes())
    return _resample(x, rate)


def _festival(s: Speaker, words: list[str]) -> dict[str, np.ndarray]:
    """One Festival process per speaker: its start-up (~0.3 s) costs more than a word."""
    with tempfile.TemporaryDirectory() as tmp:
        lines = [f"(voice_{s.voice})", f"(Parameter.set 'Duration_Stretch {s.speed})"]
        for i, w in enumerate(words):
            lines.append(
                f'(utt.save.wave (utt.synth (Utterance Text "{w}")) "{tmp}/{i}.wav" \'riff)'
            )
        proc = subprocess.run(["festival", "--pipe"], input="\n".join(lines) + "\n",
                              capture_output=True, text=True)  # fmt: skip
        said = (proc.stderr + proc.stdout).strip()
        if "SIOD ERROR" in said:
            # a missing voice is only an error message: Festival goes on in its default voice
            raise DataError(
                f"festival failed for voice {s.voice} ({said[-200:]}); is it installed? "
                f"apt-get install {PACKAGES[s.engine]}"
            )
        out = {}
        for i, w in enumerate(words):
            f = Path(tmp) / f"{i}.wav"
            if not f.is_file():
                crash = f" (festival exited with {proc.returncode})" if proc.returncode else ""
                raise DataError(
                    f"festival ({s.voice}, duration stretch {s.speed}) made no audio for {w!r}"
                    f"{crash}: {proc.stderr[-300:]}"
                )
            x, rate = read_wav_bytes(f.read_bytes())
            out[w] = _resample(x, rate)
    return out


def _neural(s: Speaker, words: list[str]) -> dict[str, np.ndarray]:
    # the speaker's random prosody comes from its identity; the vocabulary is always the
    # corpus's (neural_voice: a word's audio must not depend on the words said before it)
    vocabulary = list(GSC_WORDS) + sorted(set(words) - set(GSC_WORDS))
    said = neural_voice.speak(int(s.id, 16), s.speed, vocabulary, words)
    return {w: _resample(x, rate) for w, (x, rate) in said.items()}


def synthesize(speaker: Speaker, words: list[str]) -> dict[str, np.ndarray]:
    """Dry audio (16 kHz float32) of each word in ``speaker``'s synthesizer settings, before
    the speaker's pitch shift and vocal-tract warp (``augment.speaker_voice``)."""
    if speaker.engine == "neural":
        return _neural(speaker, words)
    if PROGRAMS[speaker.engine] == "festival":
        return _festival(speaker, words)
    one = _espeak if speaker.engine == "espeak" else _flite
    return {w: one(speaker, w) for w in words}

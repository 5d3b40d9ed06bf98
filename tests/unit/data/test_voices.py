"""The speakers: three engine families, each synthesizing every word, distinct identities."""

import numpy as np
import pytest

from ecqx.data.audio import DataError
from ecqx.data.voices import FAMILIES, FESTIVAL_VOICES, Speaker, make_speakers, synthesize


def test_speakers_cover_every_family_and_are_deterministic():
    a, b = make_speakers(20, seed=3), make_speakers(20, seed=3)
    assert a == b and len({s.id for s in a}) == 20
    assert {s.engine for s in a[:3]} == set(FAMILIES)
    assert all(0.9 <= s.warp <= 1.1 for s in a)
    assert {s.engine for s in make_speakers(5, 0, ("flite",))} == {"flite"}
    with pytest.raises(DataError, match="unknown engine families"):
        make_speakers(3, 0, ("sam",))


@pytest.mark.parametrize("family", FAMILIES)
def test_each_family_speaks(family):
    speaker = make_speakers(1, 0, (family,))[0]
    audio = synthesize(speaker, ["yes", "marvin"])
    for word, x in audio.items():
        assert x.dtype == np.float32 and 0.2 * 16000 < len(x) < 2 * 16000, word
        assert np.abs(x).max() > 0.05, word
    assert not np.array_equal(audio["yes"][:3000], audio["marvin"][:3000])


@pytest.mark.parametrize("voice", FESTIVAL_VOICES)
def test_every_festival_voice_is_installed_and_distinct(voice):
    speaker = Speaker("festival", voice, "", 0.0, 1.0)
    assert len(synthesize(speaker, ["go"])["go"]) > 1000


def test_a_missing_festival_voice_is_an_error_not_the_default_voice():
    with pytest.raises(DataError, match="festival failed for voice nosuch.*apt-get install"):
        synthesize(Speaker("festival", "nosuch", "", 0.0, 1.0), ["go"])

"""WAV reading and writing, and clear errors for stereo, truncated and folder wavs."""

import wave

import numpy as np
import pytest

from ecqx.data.audio import DataError, read_wav, write_wav


def test_wav_round_trip(tmp_path):
    x = (np.random.default_rng(1).standard_normal(16000) * 0.1).astype(np.float32)
    write_wav(tmp_path / "a.wav", x)
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (16000, 2, 1)
    assert np.abs(read_wav(tmp_path / "a.wav") - x).max() < 1 / 32767


def test_stereo_truncated_and_folder_wavs_are_clear_errors(tmp_path):
    stereo = tmp_path / "stereo.wav"
    with wave.open(str(stereo), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(bytes(4 * 100))
    with pytest.raises(DataError, match="2 channels, expected mono"):
        read_wav(stereo)
    cut = tmp_path / "cut.wav"
    write_wav(cut, np.zeros(100, np.float32))
    cut.write_bytes(cut.read_bytes()[:-1])
    with pytest.raises(DataError, match="truncated|unreadable"):
        read_wav(cut)
    (tmp_path / "folder.wav").mkdir()
    with pytest.raises(DataError, match="a folder"):
        read_wav(tmp_path / "folder.wav")

"""Synthesized dataset layout, loader errors, MFCC front end."""

import json

import numpy as np
import pytest
from helpers import copy_dataset

from ecqx.data.audio import DataError, read_wav, write_wav
from ecqx.data.synth import GSC_WORDS, _clip_task, claim_folder, make_speakers


def test_synth_layout_and_speaker_disjoint_lists(tiny_gsc):
    for w in GSC_WORDS:
        assert len(list((tiny_gsc / w).glob("*_nohash_*.wav"))) == 6
    assert len(list((tiny_gsc / "_background_noise_").glob("*.wav"))) >= 5
    val = (tiny_gsc / "validation_list.txt").read_text().split()
    test = (tiny_gsc / "testing_list.txt").read_text().split()
    assert val and test

    def speakers(names):
        return {n.split("/")[1].split("_nohash_")[0] for n in names}

    assert not speakers(val) & speakers(test)
    every = {p.name.split("_nohash_")[0] for p in tiny_gsc.glob("*/*_nohash_*.wav")}
    train = every - speakers(val) - speakers(test)
    assert train and not train & (speakers(val) | speakers(test))
    x = read_wav(tiny_gsc / "yes" / val[0].split("/")[1])
    assert x.shape == (16000,) and np.abs(x).max() > 0.1
    assert np.abs(x).min() == 0 or np.abs(x[:100]).max() > 0  # a noise floor, not digital silence
    assert np.count_nonzero(x) > 15000


def test_synth_is_deterministic(tiny_gsc, tmp_path):
    speaker = make_speakers(6, 0)[0]
    (tmp_path / "cat").mkdir()
    name, err = _clip_task((speaker, "cat", 0, 0, str(tmp_path)))
    assert err is None
    assert (tmp_path / name).read_bytes() == (tiny_gsc / name).read_bytes()


def test_synth_refuses_a_folder_made_with_other_settings(tiny_gsc, tmp_path):
    """Resuming into a stand-in of another seed would move its test speakers into training."""
    with pytest.raises(DataError, match="size tiny, seed 0.*--force"):
        claim_folder(tiny_gsc, "tiny", 1)
    with pytest.raises(DataError, match="size tiny, seed 0"):
        claim_folder(tiny_gsc, "small", 0)
    claim_folder(tiny_gsc, "tiny", 0)  # same settings: resume
    assert json.loads((tiny_gsc / "SYNTH_INFO.json").read_text())["complete"] is True
    # --force deletes the other stand-in's clips and records the new settings
    old = tmp_path / "old"
    copy_dataset(tiny_gsc, old)
    claim_folder(old, "tiny", 1, force=True)
    assert not list(old.glob("*/*_nohash_*.wav"))
    assert json.loads((old / "SYNTH_INFO.json").read_text())["seed"] == 1
    # an interrupted first run is recognised by its recorded settings
    with pytest.raises(DataError, match="seed 1"):
        claim_folder(old, "tiny", 0)
    # wavs nobody synthesized are never deleted, not even with --force
    foreign = tmp_path / "mine"
    (foreign / "yes").mkdir(parents=True)
    write_wav(foreign / "yes" / "a.wav", np.zeros(16000, np.float32))
    with pytest.raises(DataError, match="did not write"):
        claim_folder(foreign, "tiny", 0, force=True)
    assert (foreign / "yes" / "a.wav").is_file()

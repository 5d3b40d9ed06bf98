"""The Speech Commands loader: splits, balancing, and clear errors for missing or bad files."""

import numpy as np
import pytest
from helpers import copy_dataset

from ecqx.data.audio import DataError, write_wav
from ecqx.data.gsc import LABELS, GSCData, list_files
from ecqx.data.synth import speaker_families
from ecqx.data.voices import DEFAULT_FAMILIES as FAMILIES


def test_loader_splits_and_balancing(tiny_gsc):
    files = list_files(tiny_gsc)
    for split, items in files.items():
        labels = [lab for _, lab in items]
        assert labels.count(0) >= 1, split  # silence
        assert labels.count(1) >= 1, split  # unknown
    data = GSCData(tiny_gsc, progress=False)
    f = data.features("testing")
    assert f.shape == (len(data.labels("testing")), 735)
    assert np.array_equal(f, GSCData(tiny_gsc, progress=False).features("testing"))  # cached
    a = data.features("training", epoch=3, seed=1)
    b = data.features("training", epoch=3, seed=1)
    c = data.features("training", epoch=4, seed=1)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert set(data.labels("training")) <= set(range(len(LABELS)))


def test_missing_folder_and_lists_are_clear_errors(tmp_path):
    with pytest.raises(DataError, match="ecqx data synth"):
        list_files(tmp_path / "nope")
    (tmp_path / "yes").mkdir()
    with pytest.raises(DataError, match="validation_list.txt"):
        list_files(tmp_path)


def test_wrong_rate_and_corrupt_wavs_are_clear_errors(tiny_gsc, tmp_path):
    root = tmp_path / "bad"
    copy_dataset(tiny_gsc, root)
    victim = next((root / "go").glob("*.wav"))
    write_wav(victim, np.zeros(8000, np.float32), rate=8000)
    with pytest.raises(DataError, match="8000 Hz"):
        GSCData(root, progress=False)
    victim.write_bytes(b"RIFF\x00\x00garbage")
    with pytest.raises(DataError, match="unreadable wav"):
        GSCData(root, progress=False)


def test_list_naming_missing_file_is_an_error(tiny_gsc, tmp_path):
    root = tmp_path / "lists"
    copy_dataset(tiny_gsc, root)
    with open(root / "testing_list.txt", "a") as f:
        f.write("yes/doesnotexist_nohash_0.wav\n")
    with pytest.raises(DataError, match="missing files"):
        list_files(root)


def test_dataset_root_is_recorded_absolute(tiny_gsc, monkeypatch):
    """A checkpoint records where its data was; a relative path breaks from another folder."""
    monkeypatch.chdir(tiny_gsc.parent)
    data = GSCData(tiny_gsc.name, progress=False)
    assert data.root.is_absolute() and data.root == tiny_gsc.resolve()


def speakers_of(data):
    return {f.split("/")[1].split("_nohash_")[0] for v in data.files.values() for f, _ in v if f}


def test_leaving_a_family_out_never_leaks_its_clips(tiny_gsc):
    family_of = speaker_families(tiny_gsc)
    for held in FAMILIES:
        others = tuple(f for f in FAMILIES if f != held)
        used = speakers_of(GSCData(tiny_gsc, families=others, progress=False))
        assert used and {family_of[s] for s in used} == set(others)
        used = speakers_of(GSCData(tiny_gsc, families=(held,), progress=False))
        assert {family_of[s] for s in used} == {held}

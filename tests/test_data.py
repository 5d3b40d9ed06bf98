"""Synthesized dataset layout, loader errors, MFCC front end."""

import json
import shutil
import wave

import numpy as np
import pytest

from ecqx.data.audio import DataError, read_wav, write_wav
from ecqx.data.features import MfccParams, mfcc
from ecqx.data.gsc import LABELS, GSCData, list_files
from ecqx.data.subset import stratified
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


def _copy_minimal(src, dst):
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".ecqx-cache"))


def test_wrong_rate_and_corrupt_wavs_are_clear_errors(tiny_gsc, tmp_path):
    root = tmp_path / "bad"
    _copy_minimal(tiny_gsc, root)
    victim = next((root / "go").glob("*.wav"))
    write_wav(victim, np.zeros(8000, np.float32), rate=8000)
    with pytest.raises(DataError, match="8000 Hz"):
        GSCData(root, progress=False)
    victim.write_bytes(b"RIFF\x00\x00garbage")
    with pytest.raises(DataError, match="unreadable wav"):
        GSCData(root, progress=False)


def test_list_naming_missing_file_is_an_error(tiny_gsc, tmp_path):
    root = tmp_path / "lists"
    _copy_minimal(tiny_gsc, root)
    with open(root / "testing_list.txt", "a") as f:
        f.write("yes/doesnotexist_nohash_0.wav\n")
    with pytest.raises(DataError, match="missing files"):
        list_files(root)


def test_mfcc_shape_determinism_and_tone():
    p = MfccParams()
    assert (p.frames, p.n_mfcc, p.size) == (49, 15, 735)
    t = np.arange(16000) / 16000
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    noise = np.random.default_rng(0).standard_normal(16000).astype(np.float32) * 0.1
    f = mfcc(np.stack([tone, noise]))
    assert f.shape == (2, 735) and f.dtype == np.float32
    # BLAS may pick different SIMD kernels per call (alignment), so equal up to float rounding
    np.testing.assert_allclose(f, mfcc(np.stack([tone, noise])), rtol=1e-5, atol=1e-4)
    # a steady tone gives (almost) the same coefficients in every frame
    frames = f[0].reshape(49, 15)
    assert np.abs(frames[1:-1] - frames[1]).max() < 1e-3
    assert not np.allclose(f[0], f[1])
    with pytest.raises(ValueError, match="16000 samples"):
        mfcc(np.zeros((1, 100)))


def test_wav_round_trip(tmp_path):
    x = (np.random.default_rng(1).standard_normal(16000) * 0.1).astype(np.float32)
    write_wav(tmp_path / "a.wav", x)
    with wave.open(str(tmp_path / "a.wav")) as w:
        assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (16000, 2, 1)
    assert np.abs(read_wav(tmp_path / "a.wav") - x).max() < 1 / 32767


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
    _copy_minimal(tiny_gsc, old)
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


def test_stratified_subset_covers_every_class_deterministically():
    labels = np.repeat(np.arange(4), [10, 10, 10, 2])  # sorted by class, like the test split
    pick = stratified(labels, 10)
    assert len(pick) == 10 and np.all(np.diff(pick) > 0)
    assert np.bincount(labels[pick]).tolist() == [3, 3, 2, 2]  # round-robin, small class too
    assert np.array_equal(pick, stratified(labels, 10))
    assert len(stratified(labels, None)) == len(stratified(labels, 99)) == 32
    with pytest.raises(ValueError):
        stratified(labels, 0)


def test_dataset_root_is_recorded_absolute(tiny_gsc, monkeypatch):
    """A checkpoint records where its data was; a relative path breaks from another folder."""
    monkeypatch.chdir(tiny_gsc.parent)
    data = GSCData(tiny_gsc.name, progress=False)
    assert data.root.is_absolute() and data.root == tiny_gsc.resolve()


def test_missing_training_data_names_the_path_tried(tmp_path):
    from ecqx.integer.from_run import load_data

    gone = tmp_path / "moved-away"
    with pytest.raises(DataError, match=f"{gone}.*--data"):
        load_data({"metrics": {"data": {"root": str(gone)}}}, None)


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


def test_an_unreadable_cache_entry_is_rebuilt(tiny_gsc, tmp_path, caplog):
    """Ctrl-C in an older version's first load left half-written cache files; now they are
    written atomically, and one that cannot be read is rebuilt with a notice."""
    root = tmp_path / "c"
    _copy_minimal(tiny_gsc, root)
    first = GSCData(root, progress=False).features("testing")
    entries = sorted((root / ".ecqx-cache").glob("*.npz"))
    assert entries and not list((root / ".ecqx-cache").glob("*tmp*"))
    for e in entries:
        e.write_bytes(e.read_bytes()[: e.stat().st_size // 3])
    again = GSCData(root, progress=False).features("testing")
    assert np.array_equal(first, again)
    assert "rebuilding" in caplog.text

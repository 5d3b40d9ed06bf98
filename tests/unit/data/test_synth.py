"""The offline synthesizer: layout, speaker-disjoint lists, determinism, refusing foreign
folders."""

import json

import numpy as np
import pytest
from helpers import copy_dataset

from ecqx.data.audio import DataError, read_wav, write_wav
from ecqx.data.corpus import GSC_WORDS, utterances
from ecqx.data.synth import INFO_FILE, _speaker_task, claim_folder
from ecqx.data.voices import DEFAULT_FAMILIES, WARP_RANGE, make_speakers


def settings(size="tiny", seed=0, families=DEFAULT_FAMILIES, test_only=False, warp=WARP_RANGE):
    return {"size": size, "seed": seed, "families": list(families), "test_only": test_only,
            "warp": list(warp)}  # fmt: skip


def test_synth_layout_and_speaker_disjoint_lists(tiny_gsc):
    for w in GSC_WORDS:
        assert len(list((tiny_gsc / w).glob("*_nohash_*.wav"))) == 6 * utterances(w)
    noises = {p.stem for p in (tiny_gsc / "_background_noise_").glob("*.wav")}
    assert {"white_noise", "babble_0"} <= noises
    assert len(list((tiny_gsc / "_impulse_responses_").glob("*.wav"))) > 10
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
    info = json.loads((tiny_gsc / INFO_FILE).read_text())
    speaker = make_speakers(6, 0)[2]  # a Festival speaker: its one process makes every word
    assert speaker.engine == "festival" and speaker.id in info["speaker_table"]
    for w in GSC_WORDS:
        (tmp_path / w).mkdir()
    rooms = sorted((tiny_gsc / "_impulse_responses_").glob("*.wav"))
    noises = sorted((tiny_gsc / "_background_noise_").glob("*.wav"))
    written, errors = _speaker_task((speaker, 0, str(tmp_path), rooms, noises))
    assert errors == [] and written == sum(utterances(w) for w in GSC_WORDS)
    for f in tmp_path.glob("*/*.wav"):
        rel = f.relative_to(tmp_path)
        assert f.read_bytes() == (tiny_gsc / rel).read_bytes(), rel
    # the two utterances of a core word differ (augmented separately)
    a, b = (read_wav(tmp_path / "yes" / f"{speaker.id}_nohash_{i}.wav") for i in (0, 1))
    assert np.abs(a - b).max() > 0.05


def test_every_family_is_recorded_with_its_share_and_disjoint_splits(tiny_gsc):
    info = json.loads((tiny_gsc / INFO_FILE).read_text())
    assert set(info["family_share"]) == set(DEFAULT_FAMILIES)
    assert sum(v["speakers"] for v in info["family_share"].values()) == info["speakers"] == 6
    table = info["speaker_table"]
    assert {row["engine"] for row in table.values()} == set(DEFAULT_FAMILIES)
    by_split = {}
    for sid, row in table.items():
        by_split.setdefault(row["split"], set()).add(sid)
    assert set(by_split) == {"training", "validation", "testing"}
    assert sum(len(v) for v in by_split.values()) == len(table)  # each speaker in one split


def test_synth_refuses_a_folder_made_with_other_settings(tiny_gsc, tmp_path):
    """Resuming into a stand-in of another seed would move its test speakers into training."""
    with pytest.raises(DataError, match="size tiny, seed 0.*--force"):
        claim_folder(tiny_gsc, settings(seed=1))
    with pytest.raises(DataError, match="size tiny, seed 0"):
        claim_folder(tiny_gsc, settings(size="small"))
    with pytest.raises(DataError, match="families"):
        claim_folder(tiny_gsc, settings(families=("espeak",)))
    with pytest.raises(DataError, match="warp"):
        claim_folder(tiny_gsc, settings(warp=(0.8, 1.2)))
    claim_folder(tiny_gsc, settings())  # same settings: resume
    assert json.loads((tiny_gsc / "SYNTH_INFO.json").read_text())["complete"] is True
    # --force deletes the other stand-in's clips and records the new settings
    old = tmp_path / "old"
    copy_dataset(tiny_gsc, old)
    claim_folder(old, settings(seed=1), force=True)
    assert not list(old.glob("*/*_nohash_*.wav"))
    assert json.loads((old / "SYNTH_INFO.json").read_text())["seed"] == 1
    # a stand-in recorded before --warp existed was made with the default range
    info = json.loads((old / "SYNTH_INFO.json").read_text())
    (old / "SYNTH_INFO.json").write_text(json.dumps({k: v for k, v in info.items() if k != "warp"}))
    claim_folder(old, settings(seed=1))
    with pytest.raises(DataError, match="warp"):
        claim_folder(old, settings(seed=1, warp=(0.8, 1.2)))
    # an interrupted first run is recognised by its recorded settings
    with pytest.raises(DataError, match="seed 1"):
        claim_folder(old, settings())
    # wavs nobody synthesized are never deleted, not even with --force
    foreign = tmp_path / "mine"
    (foreign / "yes").mkdir(parents=True)
    write_wav(foreign / "yes" / "a.wav", np.zeros(16000, np.float32))
    with pytest.raises(DataError, match="did not write"):
        claim_folder(foreign, settings(), force=True)
    assert (foreign / "yes" / "a.wav").is_file()


def test_a_test_only_set_of_one_family(tmp_path):
    from ecqx.data.synth import generate

    s = generate(tmp_path / "flite", size="tiny", seed=5, families=("flite",), test_only=True,
                 progress=False)  # fmt: skip
    assert s["family_share"] == {"flite": {"speakers": 6, "share": 1.0}}
    listed = (tmp_path / "flite" / "testing_list.txt").read_text().split()
    assert len(listed) == s["clips"] == 6 * sum(utterances(w) for w in GSC_WORDS)
    assert not (tmp_path / "flite" / "validation_list.txt").read_text().split()

"""The checkpoint format: pickle-free round trip, refusal of code-carrying, incomplete or old
files."""

import dataclasses
import json
import os

import numpy as np
import pytest
import torch

from ecqx.checkpoint import Checkpoint, CheckpointError, load_tree, save_tree
from ecqx.integer import IntegerModelError
from ecqx.integer.checkpoint import trained_model
from ecqx.run import RunDir


def test_checkpoint_errors_are_clear(tmp_path, tiny_trained):
    (tmp_path / "bad").mkdir()
    RunDir(tmp_path / "bad").checkpoint.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt"):
        Checkpoint.load(tmp_path / "bad")
    with pytest.raises(CheckpointError, match="ecqx train"):
        Checkpoint.load(tmp_path / "nothing")
    (tmp_path / "old").mkdir()
    RunDir(tmp_path / "old").legacy_checkpoint.write_bytes(b"PK")
    with pytest.raises(CheckpointError, match="older ecqx.*re-train"):
        Checkpoint.load(tmp_path / "old")
    ck = Checkpoint.load(tiny_trained)
    assert len(trained_model(ck).layers) == 7
    with pytest.raises(IntegerModelError, match="not quantized"):
        trained_model(dataclasses.replace(ck, quantizer={}))
    conv = dict(ck.state)
    conv["0.weight"] = np.zeros((4, 3, 3, 3), np.float32)
    with pytest.raises(IntegerModelError, match="fully-connected"):
        trained_model(dataclasses.replace(ck, state=conv))


def test_a_checkpoint_that_would_run_code_is_refused(tmp_path):
    """A pickle inside the archive (an object array) would run code if unpickled; the loader
    never unpickles, so it must refuse the file and the payload must never run."""
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    path = RunDir(tmp_path).checkpoint
    meta = np.frombuffer(json.dumps({"format": "ecqx-checkpoint"}).encode(), np.uint8)
    np.savez(path, __meta__=meta, a0=np.array([Payload()], dtype=object))
    with pytest.raises(CheckpointError, match="refused"):
        Checkpoint.load(tmp_path)
    assert not marker.exists()


def test_checkpoint_trees_round_trip_exactly(tmp_path):
    tree = {"a": np.arange(6, dtype=np.int8).reshape(2, 3), "t": torch.ones(3),
            "n": {"x": [1, 2.5, None, "s", float("nan"), float("inf")], "b": True}}  # fmt: skip
    back = load_tree(save_tree(tree, tmp_path / "t.npz"))
    assert back["a"].dtype == np.int8 and np.array_equal(back["a"], tree["a"])
    assert np.array_equal(back["t"], np.ones(3, np.float32))
    x = back["n"]["x"]
    assert x[:4] == [1, 2.5, None, "s"] and np.isnan(x[4]) and x[5] == float("inf")
    assert back["n"]["b"] is True
    with pytest.raises(TypeError, match="keys"):
        save_tree({"d": {1: 2}}, tmp_path / "bad.npz")


def test_incomplete_or_corrupt_checkpoints_are_clear_errors(tmp_path, tiny_trained):
    ck = Checkpoint.load(tiny_trained)
    tree = load_tree(RunDir(tiny_trained).checkpoint)
    for key in ("input_mean", "labels", "metrics"):
        (tmp_path / key).mkdir()
        save_tree({k: v for k, v in tree.items() if k != key}, RunDir(tmp_path / key).checkpoint)
        with pytest.raises(CheckpointError, match=f"lacks {key}"):
            Checkpoint.load(tmp_path / key)
    (tmp_path / "v").mkdir()
    save_tree(tree | {"version": 99}, RunDir(tmp_path / "v").checkpoint)
    with pytest.raises(CheckpointError, match="version 99"):
        Checkpoint.load(tmp_path / "v")
    nan_bias = dict(ck.state)
    nan_bias["0.bias"] = np.full_like(nan_bias["0.bias"], np.nan)
    with pytest.raises(IntegerModelError, match="non-finite bias"):
        trained_model(dataclasses.replace(ck, state=nan_bias))
    zero_std = np.zeros_like(ck.input_std)
    with pytest.raises(IntegerModelError, match="standard deviation"):
        trained_model(dataclasses.replace(ck, input_std=zero_std))

"""A training run -> its dataset and integer model."""

from types import SimpleNamespace

import pytest

from ecqx.data.audio import DataError


def test_missing_training_data_names_the_path_tried(tmp_path):
    from ecqx.integer.from_run import load_data

    gone = tmp_path / "moved-away"
    with pytest.raises(DataError, match=f"{gone}.*--data"):
        load_data(SimpleNamespace(data_root=gone), None)

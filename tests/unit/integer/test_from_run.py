"""A training run -> its dataset and integer model."""

from types import SimpleNamespace

import pytest

from ecqx.data.audio import DataError
from ecqx.data.features import DEFAULT_MFCC, MfccParams


def test_missing_training_data_names_the_path_tried(tmp_path):
    from ecqx.integer.from_run import load_data

    gone = tmp_path / "moved-away"
    with pytest.raises(DataError, match=f"{gone}.*--data"):
        load_data(
            SimpleNamespace(data_root=gone, mfcc=DEFAULT_MFCC.to_dict(), metrics={"data": {}}), None
        )


def test_the_data_gets_the_checkpoints_front_end_and_speakers(tiny_gsc):
    from ecqx.integer.from_run import load_data

    metrics = {"data": {"families": ["flite"]}}
    params = MfccParams(cmn=True, arithmetic="float")
    ck = SimpleNamespace(data_root=tiny_gsc, mfcc=params.to_dict(), metrics=metrics)
    assert load_data(ck, None).params == params
    assert load_data(ck, None).families == ("flite",)  # the training run's speakers
    assert load_data(ck, tiny_gsc).params.cmn

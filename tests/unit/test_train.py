"""What counts as a finished run: a configuration saved before a field existed means the
field's value of that time, not today's default."""

import json
from dataclasses import asdict, replace

from ecqx.config import LEGACY, TrainConfig
from ecqx.run import RunDir
from ecqx.train import finished


def saved_run(tmp_path, config):
    RunDir(tmp_path).checkpoint.write_bytes(b"placeholder")
    RunDir(tmp_path).metrics.write_text(json.dumps({"config": config}))
    return tmp_path


def test_a_run_saved_before_the_recipe_fields_is_the_legacy_recipe(tmp_path):
    old = {k: v for k, v in asdict(TrainConfig()).items() if k not in LEGACY}
    run = saved_run(tmp_path, old)
    assert not finished(run, TrainConfig())  # today's defaults differ from the old recipe
    assert finished(run, replace(TrainConfig(), **LEGACY))


def test_same_config_is_finished_and_a_changed_one_is_not(tmp_path):
    run = saved_run(tmp_path, asdict(TrainConfig()))
    assert finished(run, TrainConfig())
    assert not finished(run, replace(TrainConfig(), lam=64.0))
    RunDir(tmp_path).metrics.write_text("{not json")
    assert not finished(run, TrainConfig())

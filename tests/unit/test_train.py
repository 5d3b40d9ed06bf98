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


def test_device_names():
    import pytest
    import torch

    from ecqx.config import ConfigError
    from ecqx.train import torch_device

    assert torch_device("cpu") == torch.device("cpu")
    gpu = torch.cuda.is_available()
    assert torch_device("auto").type == ("cuda" if gpu else "cpu")
    if not gpu:
        with pytest.raises(ConfigError, match="--device auto or --device cpu"):
            torch_device("cuda")
    with pytest.raises(ConfigError, match="auto or cpu or cuda"):
        torch_device("tpu")


def test_training_on_the_chosen_device_matches_the_cpu():
    """On a GPU machine this compares a CUDA run with the CPU one (to float tolerance); on a
    CPU-only machine both are CPU runs and must agree exactly."""
    import torch

    from ecqx.model import mlp_gsc
    from ecqx.quantizer import Quantizer
    from ecqx.train import torch_device

    def run(device):
        torch.manual_seed(0)
        model = mlp_gsc(in_features=20, num_classes=4, hidden=(32, 16)).to(device)
        g = torch.Generator().manual_seed(1)
        x, y = torch.randn(64, 20, generator=g), torch.randint(0, 4, (64,), generator=g)
        q = Quantizer(model, bits=4, lam=2.0, lam_mode="size")
        for _ in range(5):
            q.step(x.to(device), y.to(device))
        return [s.shadow.detach().cpu() for s in q.layers], [s.codes.cpu() for s in q.layers]

    cpu_shadow, cpu_codes = run(torch.device("cpu"))
    dev_shadow, dev_codes = run(torch_device("auto"))
    for a, b in zip(cpu_shadow, dev_shadow, strict=True):
        assert torch.allclose(a, b, atol=1e-4)
    agree = sum(int((a == b).sum()) for a, b in zip(cpu_codes, dev_codes, strict=True))
    assert agree >= 0.99 * sum(c.numel() for c in cpu_codes)


def test_augmented_epochs_cycle_and_are_kept_in_the_data_cache(tiny_gsc):
    """aug_epochs K: epoch e trains on augmentation e mod K, computed once and stored; K = 0
    draws a fresh augmentation every epoch."""
    import numpy as np

    from ecqx.data.gsc import GSCData
    from ecqx.train import epoch_features, input_norm

    data = GSCData(tiny_gsc, progress=False)
    norm = input_norm(data)
    cfg = replace(TrainConfig(), aug_epochs=2, seed=5)
    first = epoch_features(data, cfg, norm, 1).numpy()
    kept = sorted(data.cache_dir.glob("aug-training-*-s5-e*.npz"))
    assert [p.name.rsplit("-", 1)[1] for p in kept] == ["e1.npz"]
    np.testing.assert_array_equal(epoch_features(data, cfg, norm, 3).numpy(), first)
    assert not np.array_equal(epoch_features(data, cfg, norm, 2).numpy(), first)
    fresh = replace(cfg, aug_epochs=0)
    assert not np.array_equal(epoch_features(data, fresh, norm, 3).numpy(), first)
    np.testing.assert_array_equal(epoch_features(data, fresh, norm, 1).numpy(), first)

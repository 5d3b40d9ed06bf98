import shutil

import pytest


@pytest.fixture(scope="session")
def tiny_gsc(tmp_path_factory):
    """A tiny synthesized Speech Commands folder, made once per test session."""
    missing = [p for p in ("espeak-ng", "flite", "festival") if shutil.which(p) is None]
    if missing:
        pytest.fail(f"{', '.join(missing)} missing: run the tests through scripts/test.sh")
    from ecqx.data.synth import generate

    root = tmp_path_factory.mktemp("gsc") / "tiny"
    generate(root, size="tiny", seed=0, progress=False)
    return root


@pytest.fixture(scope="session")
def tiny_trained(tiny_gsc, tmp_path_factory):
    """A 4-bit ECQx MLP_GSC trained for a few epochs on the tiny data (the `ecqx train` folder)."""
    from ecqx.data.gsc import GSCData
    from ecqx.train import TrainConfig, train

    out = tmp_path_factory.mktemp("trained")
    train(GSCData(tiny_gsc), out, TrainConfig(epochs=1, fp_epochs=3, lam=16), progress=False)
    return out

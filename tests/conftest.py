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
    cfg = TrainConfig(epochs=1, fp_epochs=3, lam=16, lam_mode="size")
    train(GSCData(tiny_gsc), out, cfg, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_images(tmp_path_factory):
    """The tiny digits image stand-in (ImageFolder), made once per test session."""
    from ecqx.data.image_synth import synthesize_images

    root = tmp_path_factory.mktemp("images") / "tiny"
    synthesize_images(root, size="tiny", seed=0)
    return root


@pytest.fixture(scope="session")
def tiny_vgg(tiny_images, tmp_path_factory):
    """A 4-bit ECQx VGG16-BN at 1/16 width trained briefly on the tiny images (a run folder)."""
    from ecqx.config import TrainConfig
    from ecqx.data.images import load_images
    from ecqx.train_images import train_images

    out = tmp_path_factory.mktemp("vgg")
    cfg = TrainConfig(arch="vgg16bn", width=0.0625, fp_epochs=4, epochs=1, lam=4, lam_mode="size",
                      lam_warmup=1,
                      fp_lr=0.05, weight_decay=5e-4, batch=32)  # fmt: skip
    train_images(load_images(tiny_images), out, cfg, progress=False)
    return out


@pytest.fixture(scope="session")
def tiny_resnet(tiny_images, tmp_path_factory):
    """A 4-bit ECQx ResNet18 at 1/16 width trained briefly on the tiny images (a run folder)."""
    from ecqx.config import TrainConfig
    from ecqx.data.images import load_images
    from ecqx.train_images import train_images

    out = tmp_path_factory.mktemp("resnet")
    # the conv nets' recipe of session 9 (the MLP's defaults changed since)
    cfg = TrainConfig(arch="resnet18", width=0.0625, fp_epochs=3, epochs=1, lam=4,
                      lam_mode="size", lam_warmup=1, batch=32, fp_lr=0.01,
                      weight_decay=5e-4)  # fmt: skip
    train_images(load_images(tiny_images), out, cfg, progress=False)
    return out

import shutil

import pytest


@pytest.fixture(scope="session")
def tiny_gsc(tmp_path_factory):
    """A tiny synthesized Speech Commands folder, made once per test session."""
    if shutil.which("espeak-ng") is None or shutil.which("flite") is None:
        pytest.fail("espeak-ng and flite are required: run the tests through scripts/test.sh")
    from ecqx.data.synth import generate

    root = tmp_path_factory.mktemp("gsc") / "tiny"
    generate(root, size="tiny", seed=0, progress=False)
    return root

"""Image data: the CIFAR-10 python batches (read without running pickled code), ImageFolder,
and the synthesized digits stand-in."""

import json
import pickle

import numpy as np
import pytest
from PIL import Image

from ecqx.data import image_synth
from ecqx.data.images import CIFAR_TEST, CIFAR_TRAIN, ImageDataError, load_images


def write_cifar(folder, n=4):
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in (*CIFAR_TRAIN, CIFAR_TEST):
        batch = {b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": list(rng.integers(0, 10, n)), b"batch_label": b"x"}  # fmt: skip
        (folder / name).write_bytes(pickle.dumps(batch, protocol=2))
    names = [f"c{i}".encode() for i in range(10)]
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": names}, protocol=2))


def test_cifar10_python_batches_load_in_hwc_order(tmp_path):
    write_cifar(tmp_path / "cifar-10-batches-py")
    d = load_images(tmp_path)
    assert d.layout == "cifar10" and d.classes[:2] == ["c0", "c1"]
    assert d.images["train"].shape == (20, 32, 32, 3) and d.images["test"].shape == (4, 32, 32, 3)
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / CIFAR_TEST).read_bytes())[b"data"]
    # channel-major rows (R plane, G plane, B plane) become HWC pixels
    assert d.images["test"][0, 0, 1, 2] == raw[0, 2 * 1024 + 1]


def test_a_pickle_that_would_run_code_is_refused_not_run(tmp_path):
    write_cifar(tmp_path / "c")
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "c" / CIFAR_TRAIN[0]).write_bytes(pickle.dumps({b"data": Evil()}))
    with pytest.raises(ImageDataError, match="refused to load"):
        load_images(tmp_path / "c")
    assert not marker.exists()


def test_bad_folders_and_images_get_clear_errors(tmp_path):
    with pytest.raises(ImageDataError, match="no such folder"):
        load_images(tmp_path / "missing")
    with pytest.raises(ImageDataError, match="ecqx data images"):
        load_images(tmp_path)
    for split in ("train", "test"):
        (tmp_path / split / "a").mkdir(parents=True)
        Image.new("RGB", (64, 48)).save(tmp_path / split / "a" / "x.png")
    with pytest.raises(ImageDataError, match="64x48 pixels"):
        load_images(tmp_path)


def test_render_is_deterministic_and_draws_the_digit():
    from sklearn.datasets import load_digits

    digit = load_digits().images[0]
    a = image_synth._render(digit, np.random.default_rng(5))
    b = image_synth._render(digit, np.random.default_rng(5))
    c = image_synth._render(digit, np.random.default_rng(6))
    assert a.shape == (32, 32, 3) and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    blank = image_synth._render(np.zeros((8, 8)), np.random.default_rng(5))
    assert np.abs(a.astype(int) - blank.astype(int)).sum() > 32 * 255  # the ink shows


def test_stand_in_layout_and_disjoint_sources(tiny_images):
    info = json.loads((tiny_images / image_synth.INFO).read_text())
    d = load_images(tiny_images)
    assert d.layout == "imagefolder" and d.classes == [str(i) for i in range(10)]
    assert len(d.labels["train"]) == info["images"]["train"] > len(d.labels["test"]) > 0
    sources = {s: {p.name.split("_")[0] for p in (tiny_images / s).rglob("*.png")}
               for s in ("train", "test")}  # fmt: skip
    assert sources["train"] and not sources["train"] & sources["test"]
    assert set(np.unique(d.labels["train"])) == set(range(10))

"""Image classification data for the conv models: the real datasets' on-disk formats and the
offline stand-in, all loaded as uint8 arrays [N, H, W, 3] with integer labels.

Two layouts are read:

- **CIFAR-10 "python version"** (``data_batch_1..5``, ``test_batch``, ``batches.meta``, either
  in the folder or in its ``cifar-10-batches-py/``). These files are Python pickles. Unpickling
  can run code, so they are read with an unpickler that only builds dicts, lists, strings,
  numbers and numpy arrays and refuses every other global (``SafeUnpickler``); this is written
  here because neither torchvision nor numpy offer a restricted reader for them.
- **ImageFolder** (``train/<class>/*.png``, ``test/<class>/*.png``; torchvision's reader), the
  layout of the synthesized stand-in (``ecqx data images``) and of most image datasets.

Images of another size than 32x32 are an error: the models are the papers' CIFAR variants."""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecqx.errors import EcqxError

SPLITS = ("train", "test")
IMAGE_SIZE = 32
PIXEL_MAX = 255.0  # uint8 pixels are divided by this before the per-channel standardization
CIFAR_FOLDER = "cifar-10-batches-py"
CIFAR_TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
CIFAR_TEST = "test_batch"


class ImageDataError(EcqxError, ValueError):
    """A dataset folder or file that cannot be read; the message says what to do."""


# what a CIFAR batch may need to rebuild: numpy arrays and nothing else
_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("_codecs", "encode"),
}


class SafeUnpickler(pickle.Unpickler):
    """Builds only plain containers and numpy arrays; any other global is refused."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refused to load {module}.{name}")
        return super().find_class(module, name)


def safe_unpickle(path: Path) -> object:
    try:
        with open(path, "rb") as f:
            return SafeUnpickler(io.BytesIO(f.read()), encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError) as e:
        raise ImageDataError(
            f"{path}: not a readable CIFAR-10 batch ({e}); download the python version again"
        ) from e


@dataclass
class ImageData:
    root: Path
    classes: list[str]
    images: dict[str, np.ndarray]  # split -> uint8 [N, 32, 32, 3]
    labels: dict[str, np.ndarray]  # split -> int64 [N]
    layout: str  # "cifar10" or "imagefolder"

    @property
    def key(self) -> dict:
        """What a cached pre-trained model must have been made with (data identity)."""
        return {
            "root": str(self.root),
            "layout": self.layout,
            "sizes": {s: int(len(v)) for s, v in self.labels.items()},
            "checksum": int(
                sum(int(v[:: max(1, len(v) // 64)].sum()) for v in self.images.values())
            ),
        }

    def channel_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel mean and std of the training images in [0, 1] (float32 [3])."""
        x = self.images["train"].astype(np.float64) / 255.0
        return x.mean((0, 1, 2)).astype(np.float32), (x.std((0, 1, 2)) + 1e-6).astype(np.float32)


def normalize_images(images: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """uint8 images [N, H, W, C] -> the networks' float32 input [N, C, H, W]:
    ``(pixel / 255 - mean[c]) / std[c]``, the one definition training, the integer model's
    input quantization and the export checks share (the ONNX graph computes the same)."""
    x = np.asarray(images, np.float32).transpose(0, 3, 1, 2) / np.float32(PIXEL_MAX)
    c = (1, -1, 1, 1)
    return (x - np.asarray(mean, np.float32).reshape(c)) / np.asarray(std, np.float32).reshape(c)


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise ImageDataError(
            f"{path}: missing; a CIFAR-10 folder holds {CIFAR_TRAIN} and {CIFAR_TEST}"
        )
    d = safe_unpickle(path)
    if not isinstance(d, dict) or b"data" not in d or b"labels" not in d:
        raise ImageDataError(f"{path}: not a CIFAR-10 batch (no data/labels entries)")
    data = np.asarray(d[b"data"], np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * IMAGE_SIZE * IMAGE_SIZE:
        raise ImageDataError(f"{path}: data has shape {data.shape}, expected [N, 3072]")
    labels = np.asarray(d[b"labels"], np.int64)
    if len(labels) != len(data):
        raise ImageDataError(f"{path}: {len(labels)} labels for {len(data)} images")
    return data.reshape(-1, 3, IMAGE_SIZE, IMAGE_SIZE).transpose(0, 2, 3, 1), labels


def load_cifar10(root: Path) -> ImageData:
    folder = root / CIFAR_FOLDER if (root / CIFAR_FOLDER).is_dir() else root
    parts = [_cifar_batch(folder / name) for name in CIFAR_TRAIN]
    test_x, test_y = _cifar_batch(folder / CIFAR_TEST)
    classes = [f"class{i}" for i in range(10)]
    meta = folder / "batches.meta"
    if meta.is_file():
        names = safe_unpickle(meta)
        if isinstance(names, dict) and b"label_names" in names:
            classes = [n.decode() for n in names[b"label_names"]]
    return ImageData(
        root=root.resolve(),
        classes=classes,
        images={"train": np.concatenate([p[0] for p in parts]), "test": test_x},
        labels={"train": np.concatenate([p[1] for p in parts]), "test": test_y},
        layout="cifar10",
    )


def _image_folder(folder: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    from torchvision.datasets import ImageFolder

    try:
        ds = ImageFolder(str(folder))
    except (FileNotFoundError, OSError) as e:
        raise ImageDataError(f"{folder}: {e}") from e
    images, labels = [], []
    for path, label in ds.samples:
        try:
            img = np.asarray(ds.loader(path).convert("RGB"), np.uint8)
        except OSError as e:
            raise ImageDataError(f"{path}: not a readable image ({e}); remove or replace it") from e
        if img.shape != (IMAGE_SIZE, IMAGE_SIZE, 3):
            raise ImageDataError(
                f"{path}: {img.shape[1]}x{img.shape[0]} pixels; the conv models take "
                f"{IMAGE_SIZE}x{IMAGE_SIZE} RGB images (resize the dataset first)"
            )
        images.append(img)
        labels.append(label)
    return ds.classes, np.stack(images), np.asarray(labels, np.int64)


def load_image_folder(root: Path) -> ImageData:
    found = {s: _image_folder(root / s) for s in SPLITS}
    classes = found["train"][0]
    if found["test"][0] != classes:
        raise ImageDataError(f"{root}: train/ and test/ hold different class folders")
    return ImageData(
        root=root.resolve(),
        classes=classes,
        images={s: found[s][1] for s in SPLITS},
        labels={s: found[s][2] for s in SPLITS},
        layout="imagefolder",
    )


def load_images(root: Path) -> ImageData:
    """A CIFAR-10 python-batches folder or an ImageFolder (``train/``, ``test/``) folder."""
    root = Path(root)
    if not root.is_dir():
        raise ImageDataError(
            f"{root}: no such folder; pass a CIFAR-10 (python version) folder, an ImageFolder "
            "with train/ and test/, or make the stand-in with `ecqx data images --out DIR`"
        )
    if (root / CIFAR_FOLDER).is_dir() or (root / CIFAR_TRAIN[0]).is_file():
        return load_cifar10(root)
    if all((root / s).is_dir() for s in SPLITS):
        return load_image_folder(root)
    raise ImageDataError(
        f"{root}: neither CIFAR-10 batches ({CIFAR_TRAIN[0]}, ...) nor train/ and test/ "
        "class folders; make the stand-in with `ecqx data images --out DIR`"
    )

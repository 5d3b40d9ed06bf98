"""An offline stand-in for CIFAR-10 that ships with the project's dependencies: the 1,797
handwritten digits bundled with scikit-learn (8x8, 16 grey levels, 10 classes), rendered to
32x32 RGB images the way a camera might see a digit on a surface: upscaled by a random
factor, rotated, sheared and moved (torchvision's affine), drawn in a random colour on a
random two-colour gradient background, blurred and with sensor noise.

Train and test images are rendered from disjoint source digits (split by a permutation fixed
by the seed), so the test split measures generalization to unseen handwriting, not to unseen
renderings. Output: an ImageFolder layout (``train/<digit>/*.png``, ``test/<digit>/*.png``)
plus ``IMAGES_INFO.json``; the same seed writes the same bytes. The rendering is a few lines
of array code on top of torchvision's affine and blur (nothing a library offers as a whole)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np

from ecqx.data.images import IMAGE_SIZE

INFO = "IMAGES_INFO.json"
# size -> (share of source digits used, renderings per training digit, per test digit)
SIZES = {"tiny": (0.15, 1, 1), "default": (1.0, 4, 2)}
TEST_SHARE = 0.2


def _render(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One 8x8 digit (values 0..16) -> uint8 [32, 32, 3]."""
    import torch
    import torchvision.transforms.v2.functional as TF

    side = int(rng.integers(18, 29))
    ink = torch.from_numpy(digit.astype(np.float32) / 16.0)[None, None]
    ink = torch.nn.functional.interpolate(
        ink, size=(side, side), mode="bicubic", align_corners=False
    ).clamp(0, 1)
    canvas = torch.zeros(1, 1, IMAGE_SIZE, IMAGE_SIZE)
    top, left = (IMAGE_SIZE - side) // 2, (IMAGE_SIZE - side) // 2
    canvas[..., top : top + side, left : left + side] = ink
    slack = (IMAGE_SIZE - side) / 2
    canvas = TF.affine(
        canvas,
        angle=float(rng.uniform(-20, 20)),
        translate=[float(rng.uniform(-slack, slack)), float(rng.uniform(-slack, slack))],
        scale=1.0,
        shear=[float(rng.uniform(-10, 10))],
        interpolation=TF.InterpolationMode.BILINEAR,
    )
    sigma = float(rng.uniform(0.1, 1.0))
    canvas = TF.gaussian_blur(canvas, kernel_size=[5, 5], sigma=[sigma, sigma])
    alpha = canvas[0, 0].numpy().astype(np.float64)[..., None]
    # background: a gradient between two colours along a random direction
    c0, c1 = rng.uniform(0, 1, 3), rng.uniform(0, 1, 3)
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE] / (IMAGE_SIZE - 1)
    t = (np.cos(angle) * xx + np.sin(angle) * yy)[..., None]
    t = (t - t.min()) / max(float(t.max() - t.min()), 1e-9)
    background = c0 * (1 - t) + c1 * t
    # ink far enough from the background's mean colour to be visible
    mean_bg = background.reshape(-1, 3).mean(0)
    fg = rng.uniform(0, 1, 3)
    while np.abs(fg - mean_bg).sum() < 0.6:
        fg = rng.uniform(0, 1, 3)
    img = background * (1 - alpha) + fg * alpha
    img += rng.normal(0, rng.uniform(0.0, 0.05), img.shape)
    return np.clip(np.rint(img * 255), 0, 255).astype(np.uint8)


def synthesize_images(out: Path, size: str = "default", seed: int = 0) -> dict:
    """Write the stand-in to ``out`` (replacing what is there) and return its info."""
    from PIL import Image
    from sklearn.datasets import load_digits

    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    share, per_train, per_test = SIZES[size]
    digits = load_digits()
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(digits.target))
    order = order[: max(20, int(round(share * len(order))))]
    n_test = int(round(TEST_SHARE * len(order)))
    sources = {"test": order[:n_test], "train": order[n_test:]}
    out = Path(out)
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    counts = {}
    for split, per in (("train", per_train), ("test", per_test)):
        for label in range(10):
            (tmp / split / str(label)).mkdir(parents=True, exist_ok=True)
        n = 0
        for src in sources[split]:
            for k in range(per):
                img = _render(digits.images[src], np.random.default_rng([seed, int(src), k]))
                label = int(digits.target[src])
                Image.fromarray(img).save(tmp / split / str(label) / f"{src:04d}_{k}.png")
                n += 1
        counts[split] = n
    info = {
        "source": "scikit-learn load_digits (8x8) rendered to 32x32 RGB",
        "size": size,
        "seed": seed,
        "images": counts,
        "source_digits": {s: int(len(v)) for s, v in sources.items()},
    }
    (tmp / INFO).write_text(json.dumps(info, indent=2) + "\n")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    return info

"""Helpers shared by the tests (fixtures live in conftest.py)."""

import shutil


def random_integer_model(seed=0, widths=(40, 24, 16, 5), bits=4, sparsity=0.6, rounding="single"):
    """A small random IntegerModel built through the real calibration path."""
    import numpy as np

    from ecqx.integer.build import build
    from ecqx.integer.checkpoint import QuantizedLayer, TrainedModel

    rng = np.random.default_rng(seed)
    hi = 2 ** (bits - 1) - 1
    layers = []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        codes = rng.integers(-hi, hi + 1, size=(b, a)).astype(np.int8)
        codes[rng.random((b, a)) < sparsity] = 0
        layers.append(
            QuantizedLayer(
                name=str(2 * i),
                kind="linear",
                codes=codes,
                step=float(np.float32(rng.uniform(0.01, 0.1))),
                bits=bits,
                bias=rng.normal(0, 0.1, b).astype(np.float32),
            )
        )
    trained = TrainedModel(
        layers=layers,
        relu_after=[True] * (len(layers) - 1) + [False],
        labels=[f"c{k}" for k in range(widths[-1])],
        input_mean=rng.normal(0, 1, widths[0]).astype(np.float32),
        input_std=rng.uniform(0.5, 2, widths[0]).astype(np.float32),
        meta={},
    )
    calib = rng.normal(0, 2, (500, widths[0])).astype(np.float32)
    return build(trained, calib, rounding=rounding), rng.normal(0, 2, (300, widths[0])).astype(
        np.float32
    )


def copy_dataset(src, dst):
    """A copy of a synthesized dataset folder without its feature cache."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".ecqx-cache"))

"""Helpers shared by the tests (fixtures live in conftest.py)."""

import shutil


def hard_clips(n=12, seed=0):
    """int16 PCM clips [n, 16000] with the hard cases of a front end: tones and chirps at many
    levels over a noise floor, white noise, digital silence, DC, full-scale square waves
    (clipping) and a single click."""
    import numpy as np

    rng = np.random.default_rng(seed)
    t = np.arange(16000) / 16000
    out = []
    for i in range(n):
        kind = i % 6
        if kind == 0:
            x = 0.5 * np.sin(2 * np.pi * rng.uniform(100, 4000) * t * (1 + t)) * 10 ** (-i / 6)
            x += 10 ** rng.uniform(-4, -2) * rng.standard_normal(16000)
        elif kind == 1:
            x = rng.uniform(0.001, 0.9) * rng.standard_normal(16000)
        elif kind == 2:
            x = np.zeros(16000)
            x[rng.integers(16000)] = 0.9
        elif kind == 3:
            x = np.full(16000, rng.uniform(-1, 1))
        elif kind == 4:
            x = 2.0 * np.sign(np.sin(2 * np.pi * rng.uniform(50, 2000) * t))
        else:
            x = np.zeros(16000)
        out.append(np.clip(np.rint(np.clip(x, -1, 1) * 32768), -32768, 32767))
    return np.array(out, np.int16)


def audio_integer_model(seed=0, widths=(64, 32), bits=4, sparsity=0.6, cmn=None):
    """A small random IntegerModel on the fixed-point MFCC (735 inputs; mean normalized per
    clip with ``cmn``, default: as DEFAULT_MFCC), normalized and calibrated on the features of
    ``test_clips``; returns (model, clips)."""
    from dataclasses import replace

    from ecqx.data.features import DEFAULT_MFCC, mfcc

    params = DEFAULT_MFCC if cmn is None else replace(DEFAULT_MFCC, cmn=cmn)
    clips = hard_clips(24, seed)
    feats = mfcc(clips, params)
    model, _ = random_integer_model(seed, (feats.shape[1], *widths, 5), bits, sparsity,
                                    mean_std=(feats.mean(0), feats.std(0) + 0.5), calib=feats,
                                    meta={"mfcc": params.to_dict()})  # fmt: skip
    return model, clips


def random_integer_model(seed=0, widths=(40, 24, 16, 5), bits=4, sparsity=0.6, rounding="single",
                         mean_std=None, calib=None, meta=None):  # fmt: skip
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
        meta=meta or {},
    )
    if mean_std is not None:
        trained.input_mean, trained.input_std = (np.float32(v) for v in mean_std)
    if calib is None:
        calib = rng.normal(0, 2, (500, widths[0])).astype(np.float32)
    return build(trained, calib, rounding=rounding), rng.normal(0, 2, (300, widths[0])).astype(
        np.float32
    )


def copy_dataset(src, dst):
    """A copy of a synthesized dataset folder without its feature cache."""
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns(".ecqx-cache"))

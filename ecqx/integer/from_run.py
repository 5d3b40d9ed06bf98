"""A training run -> its integer model: the checkpoint's quantized layers, activations
calibrated on the run's own training data (or ``data``), requantization constants."""

from __future__ import annotations

from pathlib import Path

from ecqx.checkpoint import Checkpoint
from ecqx.data.audio import DataError
from ecqx.integer.build import build
from ecqx.integer.checkpoint import trained_model
from ecqx.integer.model import IntegerModel

CALIBRATION_SAMPLES = 2000


def load_data(ck: Checkpoint, data: Path | None):  # noqa: ANN201 - GSCData, imported lazily
    """``data`` if given, else the folder the checkpoint was trained on, with the front end
    the checkpoint was trained with."""
    from ecqx.data.features import MfccParams
    from ecqx.data.gsc import GSCData

    params = MfccParams.from_dict(ck.mfcc)
    if data:
        return GSCData(Path(data), params=params)
    # the same speakers as in training (``ecqx holdout`` trains on some families only)
    families = ck.metrics["data"].get("families")
    root = ck.data_root
    if not root.is_dir():
        raise DataError(
            f"the model was trained on {root.resolve()}, which is not there any more; pass "
            "--data with that Speech Commands folder (or a copy of it)"
        )
    return GSCData(root, params=params, families=None if families is None else tuple(families))


def build_integer(
    model_dir: Path, data: Path | None, rounding: str = "single"
) -> tuple[Checkpoint, object, IntegerModel]:
    """(checkpoint, dataset, integer model) of the run in ``model_dir``."""
    ck = Checkpoint.load(model_dir)
    trained = trained_model(ck, source=str(model_dir))
    gsc = load_data(ck, data)
    calib = gsc.features("training")[:CALIBRATION_SAMPLES]
    return ck, gsc, build(trained, calib, rounding=rounding)

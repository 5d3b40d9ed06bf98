"""The names of a run's files and folders, owned here and asked by every stage.

A training folder (``ecqx train --out``, later ``--model``) holds the checkpoint, the cached
pre-trained model and the metrics, and by default the export and HIL folders; an export
folder (``ecqx export --out``) holds the integer model, the reports and the firmware project."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RunDir:
    root: Path

    @property
    def checkpoint(self) -> Path:
        return Path(self.root) / "model.npz"

    @property
    def legacy_checkpoint(self) -> Path:
        """Where older ecqx versions wrote a (pickled) checkpoint; recognized to say so."""
        return Path(self.root) / "model.pt"

    @property
    def fp_cache(self) -> Path:
        return Path(self.root) / "fp.npz"

    @property
    def metrics(self) -> Path:
        return Path(self.root) / "metrics.json"

    @property
    def export(self) -> ExportDir:
        return ExportDir(Path(self.root) / "export")

    @property
    def hil(self) -> Path:
        return Path(self.root) / "hil"

    @property
    def hil_audio(self) -> Path:
        """``ecqx hil --audio`` reports (the default --out of hil is ``hil``)."""
        return Path(self.root) / "hil-audio"

    def hil_reports(self, audio: bool) -> Path:
        """The default report folder of ``ecqx hil`` (with or without ``--audio``)."""
        return self.hil_audio if audio else self.hil

    @property
    def stream(self) -> Path:
        return Path(self.root) / "stream"


@dataclass(frozen=True)
class ExportDir:
    root: Path

    @property
    def integer_model(self) -> Path:
        return Path(self.root) / "integer_model.npz"

    @property
    def report(self) -> Path:
        return Path(self.root) / "export_report.json"

    @property
    def onnx(self) -> Path:
        return Path(self.root) / "model.onnx"

    @property
    def nnc(self) -> Path:
        return Path(self.root) / "model.nnc"

    @property
    def firmware_report(self) -> Path:
        return Path(self.root) / "firmware_report.json"

    @property
    def c_library(self) -> Path:
        """The C library of ``ecqx export --target c`` (sources in ``src/``)."""
        return Path(self.root) / "c"

    @property
    def firmware(self) -> Path:
        return Path(self.root) / "firmware"

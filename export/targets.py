"""One manager per export target (as brevitas has one per format): ``write`` makes the
target's files from the integer model, ``check`` runs them where a runtime exists and
compares every output with the reference engine. ``ecqx export`` is a loop over the managers
named in ``ecqx.export.choices.TARGETS``; the format modules are imported only when used."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecqx.integer import engine
from ecqx.integer.model import IntegerModel
from ecqx.run import ExportDir


def agreement(a: np.ndarray, b: np.ndarray) -> dict:
    """How far runtime outputs ``a`` are from the reference ``b`` (int8 logits)."""
    a, b = np.asarray(a), np.asarray(b)
    return {
        "outputs_equal": float((a == b).all(axis=1).mean()),
        "values_equal": float((a == b).mean()),
        "max_abs_diff": int(np.abs(a.astype(np.int64) - b).max(initial=0)),
        "predictions_equal": float((a.argmax(1) == b.argmax(1)).mean()),
    }


@dataclass
class Probe:
    """What the checks run: the test split as raw features and int8 inputs, and the
    reference engine's outputs for them."""

    model: IntegerModel
    features: np.ndarray
    x: np.ndarray
    reference: np.ndarray
    pcm: np.ndarray | None = None  # int16 clips the features came from (fixed-point front end)


@dataclass
class Artifact:
    files: dict[str, Path]
    report: dict = field(default_factory=dict)  # merged into the export report
    note: str = ""  # how it was checked, for the log


@dataclass
class Checked:
    agreement: dict[str, dict] = field(default_factory=dict)
    outputs: dict[str, np.ndarray] = field(default_factory=dict)  # runtime -> int8 logits


class Onnx:
    name = "ONNX QDQ"

    def write(self, model: IntegerModel, out: Path, weights: str) -> Artifact:
        from ecqx.export import onnx_qdq

        return Artifact({"onnx": onnx_qdq.export(model, ExportDir(out).onnx)},
                        note="checked in onnxruntime at every optimization level")  # fmt: skip

    def check(self, art: Artifact, probe: Probe) -> Checked:
        from ecqx.export import onnx_qdq

        c = Checked()
        for level in onnx_qdq.LEVELS:
            got = onnx_qdq.run(art.files["onnx"], probe.features, level)
            ag = agreement(got, probe.reference)
            if ag["outputs_equal"] < 1:
                # float32 requantization: every difference must be a near-tie (module doc)
                ties = onnx_qdq.near_ties(probe.model, art.files["onnx"], probe.features, level)
                ag |= {"near_ties": ties["explained"], "unexplained": ties["unexplained"]}
            c.agreement[f"onnxruntime_{level}"] = ag
        c.outputs["onnxruntime"] = got
        return c


class Tflite:
    name = "TFLite"

    def write(self, model: IntegerModel, out: Path, weights: str) -> Artifact:
        from ecqx.export import tflite_fc

        # An all-INT8-weight twin: LiteRT runs int8 filters with single rounding everywhere.
        wide = dataclasses.replace(
            model, layers=[dataclasses.replace(ly, bits=max(ly.bits, 5)) for ly in model.layers]
        )
        files = {
            "tflite": tflite_fc.export(model, out / "model.tflite"),
            "tflite_int8_weights": tflite_fc.export(wide, out / "model_int8w.tflite"),
        }
        return Artifact(files, note="checked in LiteRT and TFLM")

    def check(self, art: Artifact, probe: Probe) -> Checked:
        from ecqx.export import tflite_fc

        lite4 = tflite_fc.run_litert(art.files["tflite"], probe.x)
        lite8 = tflite_fc.run_litert(art.files["tflite_int8_weights"], probe.x)
        tflm = tflite_fc.run_tflm(art.files["tflite"], probe.x)
        double = engine.run(dataclasses.replace(probe.model, rounding="double"), probe.x)
        ref = probe.reference
        return Checked(
            agreement={
                "litert_int4": agreement(lite4, ref),
                "litert_int8_weights": agreement(lite8, ref),
                "tflm": agreement(tflm, ref),
                "tflm_vs_double_rounding": agreement(tflm, double),
            },
            outputs={"litert": lite4, "tflm": tflm},
        )


class CSources:
    name = "C library"

    def write(self, model: IntegerModel, out: Path, weights: str) -> Artifact:
        from ecqx.codegen.library import package
        from ecqx.codegen.render import API_HEADER

        lib = package(model, ExportDir(out).c_library, weights)
        report = {
            "c_bytes": {"chosen": lib.sources.plan.weight_bytes},
            "layers": [{"c_format": c["format"]} for c in lib.sources.plan.layers],
        }
        files = {"c_library": lib.root, "c_header": lib.src / API_HEADER}
        if lib.example:
            files["c_example"] = lib.example
        return Artifact(files, report, note="compiled with gcc and run on the host")

    def check(self, art: Artifact, probe: Probe) -> Checked:
        from ecqx.codegen.frontend import has_frontend
        from ecqx.codegen.host import compile_host, run_host, run_host_audio

        folder = art.files["c_header"].parent
        exe = compile_host(folder, folder.parent / ".ecqx_host_check")
        m = probe.model
        try:
            got = run_host(exe, probe.x, m.num_classes)
            checked = Checked({"c_host": agreement(got, probe.reference)}, {"c_host": got})
            if has_frontend(m) and probe.pcm is not None:
                feats, logits = run_host_audio(exe, probe.pcm, m.in_features, m.num_classes)
                checked.agreement["c_host_front_end"] = agreement(feats, probe.x)
                checked.agreement["c_host_audio"] = agreement(logits, probe.reference)
                checked.outputs["c_host_audio"] = logits
        finally:
            exe.unlink(missing_ok=True)
        if "c_example" in art.files and probe.pcm is not None:
            checked.agreement["c_example"] = check_example(art.files["c_library"], probe)
        return checked


def check_example(library: Path, probe: Probe, clips: int = 3) -> dict:
    """Build the library's example as its README says and run it on the first test clips
    written as WAV files: its printed keyword must be the reference engine's."""
    import subprocess
    import tempfile

    from ecqx.codegen.host import C_FLAGS, HostBuildError
    from ecqx.data.audio import write_wav

    with tempfile.TemporaryDirectory() as tmp:
        exe = Path(tmp) / "classify_wav"
        cmd = ["gcc", "-O2", *C_FLAGS, "-I", str(library / "src"), "-o", str(exe),
               *map(str, sorted((library / "src").glob("*.c"))),
               str(library / "examples" / "classify_wav" / "main.c")]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode:
            raise HostBuildError(f"the library's example does not compile:\n{proc.stderr[-2000:]}")
        said = []
        for i in range(min(clips, len(probe.pcm))):
            wav = Path(tmp) / f"clip{i}.wav"
            write_wav(wav, probe.pcm[i])
            run = subprocess.run([str(exe), str(wav)], capture_output=True, text=True, timeout=60)
            if run.returncode:
                raise HostBuildError(f"the library's example failed: {run.stderr[-2000:]}")
            said.append(run.stdout.split("\n", 1)[0])
    want = [probe.model.labels[k] for k in probe.reference[: len(said)].argmax(1)]
    return {
        "clips": len(said),
        "keywords_equal": float(np.mean([a == b for a, b in zip(said, want)])),
    }


class Nnc:
    name = "NNC bitstream"

    def write(self, model: IntegerModel, out: Path, weights: str) -> Artifact:
        from ecqx.export import nnr

        path = ExportDir(out).nnc
        return Artifact({"nnc": path}, {"nnc": nnr.export(model, path)},
                        note="decoded and compared exactly before it was written")  # fmt: skip

    def check(self, art: Artifact, probe: Probe) -> Checked:
        return Checked()  # lossless by construction: ``nnr.export`` refuses any other stream


MANAGERS = {"onnx": Onnx, "tflite": Tflite, "c": CSources, "nnr": Nnc}


def manager(target: str) -> Onnx | Tflite | CSources | Nnc:
    return MANAGERS[target]()


def merge(report: dict, updates: dict) -> None:
    """Merge ``updates`` into ``report`` in place: dicts key by key, lists of dicts element by
    element (per-layer rows), anything else replaced."""
    for key, value in updates.items():
        old = report.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merge(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            for row, extra in zip(old, value, strict=True):
                row.update(extra)
        else:
            report[key] = value

"""`ecqx hil`: find (or build) the firmware for a trained model, connect to the device or
start the emulator, and run the check on the test split."""

from __future__ import annotations

import json
from pathlib import Path

from ecqx.checkpoint import Checkpoint
from ecqx.codegen.frontend import has_frontend
from ecqx.data.subset import stratified
from ecqx.hil.check import clear_reports, run_check, subset_note
from ecqx.hil.device import Device
from ecqx.hil.transport import QemuTransport, SerialTransport, Transport
from ecqx.integer import IntegerModel, IntegerModelError
from ecqx.model.predict import predict
from ecqx.report import DEVICE, INTEGER, QUANTIZED, percent
from ecqx.run import ExportDir, RunDir


def firmware_for(model_dir: Path, export_dir: Path, board: str, data: Path | None) -> Path:
    """The ELF for ``board`` built from this model; (re)built when missing or stale."""
    from ecqx.codegen.firmware_build import export_cortex_m, sources_digest

    files = ExportDir(export_dir)
    report, im_path = files.firmware_report, files.integer_model
    if report.is_file() and im_path.is_file():
        r = json.loads(report.read_text())
        elf = Path(r["elf"])
        try:
            identity = IntegerModel.load(im_path).identity()
        except IntegerModelError:
            identity = None  # an older file format or a damaged file: rebuild both
        if (
            r.get("board") == board
            and elf.is_file()
            and identity is not None
            and r.get("identity") == identity
            and r.get("sources") == sources_digest()
            and elf.stat().st_mtime >= RunDir(model_dir).checkpoint.stat().st_mtime
        ):
            return elf
    export_cortex_m(model_dir, export_dir, board=board, data=data)
    return Path(json.loads(report.read_text())["elf"])


def hil(
    model_dir: Path,
    board: str | None = None,
    port: str | None = None,
    baud: int = 115200,
    data: Path | None = None,
    limit: int | None = None,
    out: Path | None = None,
    timeout: float = 5.0,
    progress: bool = True,
    export_dir: Path | None = None,
    profile: bool = False,
    audio: bool = False,
) -> dict:
    from ecqx.hil.plugin import build_plugin, marker_addresses
    from ecqx.integer.from_run import load_data

    model_dir = Path(model_dir)
    # the firmware and integer model are looked up (and built if missing) here
    export_dir = Path(export_dir) if export_dir else RunDir(model_dir).export.root
    out = Path(out) if out else RunDir(model_dir).hil_reports(audio)
    out.mkdir(parents=True, exist_ok=True)
    clear_reports(out)
    if not (board or port):
        raise ValueError("give --board BOARD (emulated) or --port DEVICE (a real board)")
    # Everything that can fail on the host happens before a device is opened or an emulator
    # started, so no error leaves an emulator running.
    ck = Checkpoint.load(model_dir)
    gsc = load_data(ck, data)
    elf = firmware_for(model_dir, export_dir, board, data) if board else None
    im = IntegerModel.load(ExportDir(export_dir).integer_model)
    if audio and not has_frontend(im):
        raise IntegerModelError(
            "--audio needs a model trained on the fixed-point front end "
            "(--features fixed, the default); this one used float features"
        )
    feats, labels = gsc.features("testing"), gsc.labels("testing")
    population = len(labels)
    pick = stratified(labels, limit)
    feats, labels = feats[pick], labels[pick]
    x = im.quantize_input(feats)
    pcm = gsc.pcm("testing")[pick] if audio else None
    torch_pred = predict(ck, feats)
    icount_file = None
    if elf is not None:
        markers = marker_addresses(elf)
        plugin = build_plugin(out)
        icount_file = out / "instructions.txt"
        icount_file.unlink(missing_ok=True)
        # per-address counts, written when the emulator exits (see hil/profile.py)
        profile_file = out / "profile.txt" if profile else None
        transport: Transport = QemuTransport(elf, board, plugin, markers, icount_file, profile_file)
    else:
        transport = SerialTransport(port, baud)
    with transport:
        dev = Device(transport, timeout=timeout)
        return run_check(dev, im, x, labels, out, torch_pred, icount_file, progress, population,
                         boot=elf is not None, pcm=pcm)  # fmt: skip


def summary(r: dict) -> str:
    t = r["top1"]
    ic = r["instructions_per_inference"]
    lines = [
        f"device {r['device']['board'] if r['device'] else '?'}: {r['completed']}/{r['requested']}"
        f" samples{subset_note(r)}, bit-exact: {'yes' if r['bit_exact'] else 'NO'}"
        f" ({len(r['mismatches'])} mismatches)",
        f"top-1 device {percent(t[DEVICE])}, integer reference {percent(t[INTEGER])}, "
        f"PyTorch (quantized weights) {percent(t[QUANTIZED])}",
    ]
    a = r.get("audio")
    if a is not None:
        fe = a["instructions_front_end"]["mean"]
        lines.append(
            f"front end on the device: features bit-exact: "
            f"{'yes' if a['features_bit_exact'] else 'NO'}"
            + (f", {fe:.0f} instructions per 1 s clip" if fe is not None else "")
        )
    if ic["mean"] is not None:
        lines.append(f"network instructions per inference (exact, emulator): {ic['mean']:.0f}")
    if r["failure"]:
        lines.append(f"stopped early: {r['failure']}")
    return "\n".join(lines)

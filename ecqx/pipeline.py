"""The main job end to end: synthesize the stand-in data, train and quantize, export every
format, build the firmware for an emulated board, run the HIL check, and summarize.

It sits above every stage (it imports them all) and below only the CLI. Progress goes to the
``log`` callback; the result is a ``PipelineReport``, also written as ``WORK/summary.json``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from ecqx.config import TrainConfig
from ecqx.files import write_json
from ecqx.report import DEVICE, FLOAT, INTEGER, QUANTIZED, percent
from ecqx.run import RunDir

SUMMARY = "summary.json"
AUDIO_CLIPS = 48  # test clips sent as audio (32 KB each, ~1 s over the emulated serial link)
STREAM_SECONDS, STREAM_DEVICE_SECONDS = 600.0, 20.0


@dataclass
class PipelineReport:
    top1_test: dict  # ecqx.report names: float, quantized, integer, device
    sparsity: float
    bits: int
    bytes: dict  # float32, c_weights, nnc, flash, ram
    compression_ratio_nnc: float
    instructions_per_inference: float | None
    hil_bit_exact: bool
    # the device front end on a subset of the test clips, and streaming (None without it)
    audio: dict | None = None
    stream: dict | None = None

    def summary(self) -> str:
        t, b, ipi = self.top1_test, self.bytes, self.instructions_per_inference
        return (
            f"test top-1: float {percent(t[FLOAT])} | quantized {percent(t[QUANTIZED])} | "
            f"integer {percent(t[INTEGER])} | on device {percent(t[DEVICE])}\n"
            f"sparsity {percent(self.sparsity)} at {self.bits} bits; weights {b['float32']} B "
            f"float32 -> {b['c_weights']} B in C, {b['nnc']} B NNC "
            f"(CR {self.compression_ratio_nnc:.1f}x); firmware flash {b['flash']} B, RAM "
            f"{b['ram']} B; {'-' if ipi is None else f'{ipi:.0f}'} instructions per inference; "
            f"device bit-exact: {'yes' if self.hil_bit_exact else 'NO'}"
            + ("" if self.audio is None else
               f"\naudio in on the device ({self.audio['clips']} test clips): features and "
               f"logits bit-exact: {'yes' if self.audio['bit_exact'] else 'NO'}; front end "
               f"{self.audio['front_end_instructions']:.0f} instructions per 1 s clip")
            + ("" if self.stream is None else
               f"\nstreaming ({self.stream['seconds']:.0f} s test stream): "
               f"{percent(self.stream['detection_rate'])} of keywords detected, "
               f"{self.stream['false_alarms_per_hour']:.0f} false alarms per hour; device "
               f"({self.stream['device_seconds']:.0f} s) bit-exact: "
               f"{'yes' if self.stream['device_bit_exact'] else 'NO'}")
        )  # fmt: skip


def run_pipeline(
    work: Path,
    cfg: TrainConfig,
    board: str,
    data: Path | None = None,
    size: str = "default",
    limit: int | None = None,
    log: Callable[[str], object] = print,
    device: str = "cpu",
) -> PipelineReport:
    """Every stage into ``work``; finished training runs are reused."""
    from ecqx.codegen.firmware_build import export_cortex_m, firmware_table
    from ecqx.codegen.frontend import has_frontend
    from ecqx.data.features import params_for
    from ecqx.data.gsc import GSCData
    from ecqx.data.synth import generate
    from ecqx.export.choices import TARGETS
    from ecqx.export.pipeline import export
    from ecqx.export.pipeline import summary_table as export_table
    from ecqx.hil.run import hil, summary
    from ecqx.integer.model import IntegerModel
    from ecqx.integer.recognize import RecognizerParams
    from ecqx.streaming import evaluate
    from ecqx.streaming import summary as stream_summary
    from ecqx.train import finished, metrics_table, train

    work = Path(work)
    data_dir = Path(data) if data else work / "gsc-synth"
    if not data:
        log(f"[1/6] synthesizing the stand-in dataset ({size}) into {data_dir}")
        generate(data_dir, size=size, seed=cfg.seed)
    run = RunDir(work / "train")
    model_dir = run.root
    log(f"[2/6] training MLP_GSC and quantizing with {cfg.method.upper()} at {cfg.bits} bits")
    if finished(model_dir, cfg):
        m = json.loads(run.metrics.read_text())
        log("      reusing the finished training run")
    else:
        data_ = GSCData(data_dir, params=params_for(cfg))
        m = train(data_, model_dir, cfg, device=device)
    log(metrics_table(m))
    log("[3/6] exporting the integer model: ONNX QDQ, TFLite, C, NNC")
    ex = export(model_dir, run.export.root, list(TARGETS), log=log)
    log(export_table(ex))
    log(f"[4/6] building the firmware for {board} with PlatformIO (offline)")
    im = IntegerModel.load(run.export.integer_model)  # the one export built: calibrated once
    log(firmware_table(export_cortex_m(model_dir, run.export.root, board=board, model=im)))
    log(f"[5/6] hardware-in-the-loop check on the emulated {board} (QEMU)")
    h = hil(model_dir, board=board, limit=limit)
    log(summary(h))
    audio = stream = None
    if has_frontend(im):
        clips = min(limit or AUDIO_CLIPS, AUDIO_CLIPS)
        log(f"      audio in: {clips} test clips as 16-bit PCM, the front end on the device")
        ha = hil(model_dir, board=board, limit=clips, audio=True)
        log(summary(ha))
        audio = {
            "clips": ha["completed"],
            "bit_exact": ha["bit_exact"] and ha["audio"]["features_bit_exact"],
            "front_end_instructions": ha["audio"]["instructions_front_end"]["mean"],
        }
        log(f"[6/6] streaming recognition on a {STREAM_SECONDS:.0f} s test stream, the first "
            f"{STREAM_DEVICE_SECONDS:.0f} s on the device")  # fmt: skip
        st = evaluate(model_dir, run.stream, RecognizerParams(), STREAM_SECONDS,
                      board=board, device_seconds=STREAM_DEVICE_SECONDS)  # fmt: skip
        log(stream_summary(st))
        dev = st["device"]
        stream = {"seconds": st["stream_seconds"], "detection_rate": st["detection_rate"],
                  "false_alarms_per_hour": st["false_alarms_per_hour"],
                  "device_seconds": dev["seconds"],
                  "device_bit_exact": dev["logits_bit_exact"] and dev["detections_equal"],
                  "instructions_per_hop": dev["instructions_per_hop"]["mean"]}  # fmt: skip
    fw = json.loads(run.export.firmware_report.read_text())
    report = PipelineReport(
        top1_test={
            FLOAT: m["top1_float"]["testing"],
            QUANTIZED: m["top1_quantized"]["testing"],
            INTEGER: ex["top1"][INTEGER],
            DEVICE: h["top1"][DEVICE],
        },
        sparsity=m["sparsity"],
        bits=cfg.bits,
        bytes={
            "float32": ex["nnc"]["float32_bytes"],
            "c_weights": fw["weight_bytes"],
            "nnc": ex["nnc"]["bytes"],
            "flash": fw["sizes"]["flash"],
            "ram": fw["sizes"]["ram"],
        },
        compression_ratio_nnc=ex["nnc"]["compression_ratio"],
        instructions_per_inference=h["instructions_per_inference"]["mean"],
        hil_bit_exact=h["bit_exact"],
        audio=audio,
        stream=stream,
    )
    write_json(work / SUMMARY, asdict(report))
    return report

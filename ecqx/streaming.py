"""``ecqx stream``: streaming keyword recognition measured on a long test stream (test-split
clips at known times over background noise): detection rate and false alarms per hour of the
integer reference, and optionally the device running the same stream bit for bit."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ecqx.codegen.frontend import feature_params
from ecqx.data.features import MfccParams
from ecqx.data.fixed_mfcc import Q_OUT, stream_coefficients, subtract_frame_means
from ecqx.data.stream import Event, Stream
from ecqx.integer import engine
from ecqx.integer.model import IntegerModel, IntegerModelError
from ecqx.integer.recognize import Detection, RecognizerParams, decide, is_keyword, threshold_q

# a detection counts for a keyword clip starting at s when it falls in [s + EARLY, s + LATE]
# seconds: not before a quarter of the word can have been heard, and within the averaging
# window (1 s) after the clip ends
EARLY, LATE = 0.25, 2.0


@dataclass
class StreamRun:
    logits: np.ndarray  # int8 [inferences, classes]
    first_frame: int  # newest frame of inference 0's window
    detections: list[Detection]


def reference(model: IntegerModel, pcm: np.ndarray, rp: RecognizerParams) -> StreamRun:
    """What the device's ``ecqx_stream_push`` computes for ``pcm``, by the reference."""
    p = feature_params(model)
    coeffs = stream_coefficients(pcm, p)
    last = np.arange(p.frames - 1, len(coeffs), rp.infer_every)
    windows = np.stack([coeffs[t - p.frames + 1 : t + 1] for t in last])
    if p.cmn:
        windows = subtract_frame_means(windows)
    x = model.quantize_input(windows.reshape(len(last), -1) * np.float32(2.0**-Q_OUT))
    logits = engine.run(model, x)
    dets = decide(logits, p.frames - 1, is_keyword(model.labels), rp,
                  threshold_q(rp, model.output_scale))  # fmt: skip
    return StreamRun(logits, p.frames - 1, dets)


def detection_time(d: Detection, p: MfccParams) -> float:
    """Seconds at the end of the window that decided (the newest frame's last sample)."""
    return (d.frame * p.hop + p.window) / p.sample_rate


def score(dets: list[Detection], events: list[Event], labels: list[str], p: MfccParams,
          seconds: float) -> dict:  # fmt: skip
    """Hits, misses and false alarms: each detection matches at most one clip of its keyword
    (the earliest unmatched one whose window holds it); the rest are false alarms."""
    keyword = is_keyword(labels)
    targets = [e for e in events if keyword[labels.index(e.label)]]
    matched: set[int] = set()
    rows = []
    for d in dets:
        t = detection_time(d, p)
        hit = next((i for i, e in enumerate(targets) if i not in matched
                    and e.label == labels[d.label] and e.start + EARLY <= t <= e.start + LATE),
                   None)  # fmt: skip
        if hit is not None:
            matched.add(hit)
        rows.append(
            {
                "seconds": round(t, 3),
                "keyword": labels[d.label],
                "lead": d.lead,
                "count": d.count,
                "match": None if hit is None else targets[hit].start,
            }
        )
    false_alarms = sum(r["match"] is None for r in rows)
    hours = seconds / 3600
    return {
        "keywords": len(targets),
        "detected": len(matched),
        "detection_rate": len(matched) / len(targets) if targets else None,
        "false_alarms": false_alarms,
        "false_alarms_per_hour": false_alarms / hours if hours else None,
        "stream_seconds": seconds,
        "detections": rows,
        "missed": [asdict(e) for i, e in enumerate(targets) if i not in matched],
    }


def summary(r: dict) -> str:
    lines = [
        f"stream of {r['stream_seconds']:.0f} s: {r['keywords']} keywords, detected "
        f"{r['detected']} ({100 * (r['detection_rate'] or 0):.1f}%), {r['false_alarms']} false "
        f"alarms ({r['false_alarms_per_hour']:.0f} per hour)",
    ]
    if r.get("device"):
        dev = r["device"]
        lines.append(f"device {dev['board']}: {dev['inferences']} inferences, logits bit-exact: "
                     f"{'yes' if dev['logits_bit_exact'] else 'NO'}, detections equal: "
                     f"{'yes' if dev['detections_equal'] else 'NO'}")  # fmt: skip
    return "\n".join(lines)


def write_stream(out: Path, stream: Stream) -> None:
    from ecqx.data.audio import write_wav
    from ecqx.files import write_text

    out.mkdir(parents=True, exist_ok=True)
    write_wav(out / "stream.wav", stream.pcm, stream.sample_rate)
    lines = ["start_seconds,label,clip"] + [
        f"{e.start:.4f},{e.label},{e.clip}" for e in stream.events
    ]
    write_text(out / "events.csv", "\n".join(lines) + "\n")


def evaluate(model_dir: Path, out: Path, rp: RecognizerParams, seconds: float = 600.0,
             seed: int = 0, data: Path | None = None, board: str | None = None,
             device_seconds: float = 20.0, timeout: float = 10.0,
             progress: bool = True) -> dict:  # fmt: skip
    """Make the stream from the model's test split, score the reference recognizer on it, and
    with ``board`` run its first ``device_seconds`` on the emulated device with the firmware's
    recognizer (the default settings), comparing every inference and detection."""
    from ecqx.checkpoint import Checkpoint
    from ecqx.codegen.frontend import has_frontend
    from ecqx.data.stream import make_stream
    from ecqx.files import write_json, write_text
    from ecqx.integer.from_run import load_data
    from ecqx.keyword import load_model

    model_dir, out = Path(model_dir), Path(out)
    rp.validate()
    elf = None
    if board:  # builds (and exports) when missing or stale, so the model below is current
        from ecqx.hil.run import firmware_for
        from ecqx.run import RunDir

        elf = firmware_for(model_dir, RunDir(model_dir).export.root, board, data)
    model = load_model(model_dir)
    if not has_frontend(model):
        raise IntegerModelError("streaming needs a model trained on the fixed-point front end "
                                "(--features fixed, the default)")  # fmt: skip
    gsc = load_data(Checkpoint.load(model_dir), data)
    split = gsc.splits["testing"]
    p = feature_params(model)
    stream = make_stream(split.audio, split.labels, gsc.noises, seconds, seed, p.sample_rate,
                         p.hop)  # fmt: skip
    write_stream(out, stream)
    run = reference(model, stream.pcm, rp)
    report = {"model": model.identity(), "recognizer": rp.to_dict(), "seed": seed,
              "data": str(gsc.root)} | score(run.detections, stream.events, model.labels, p,
                                             stream.seconds)  # fmt: skip
    report["thresholds"] = threshold_sweep(run.logits, stream, model, p, rp)
    plot_sweep(report["thresholds"], out / "detection_vs_false_alarms.png", report)
    if elf is not None:
        report["device"] = on_device(elf, model, stream, p, board, device_seconds, timeout,
                                     out, progress)  # fmt: skip
    write_json(out / "stream_report.json", report)
    write_text(out / "stream_report.md", markdown(report))
    return report


def threshold_sweep(logits: np.ndarray, stream: Stream, model: IntegerModel, p: MfccParams,
                    rp: RecognizerParams) -> list[dict]:  # fmt: skip
    """Detection rate and false alarms per hour at other thresholds (same inferences)."""
    from dataclasses import replace

    rows = []
    for thr in (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0):
        r = replace(rp, threshold=thr)
        dets = decide(logits, p.frames - 1, is_keyword(model.labels), r,
                      threshold_q(r, model.output_scale))  # fmt: skip
        s = score(dets, stream.events, model.labels, p, stream.seconds)
        rows.append({"threshold": thr, "detection_rate": s["detection_rate"],
                     "false_alarms_per_hour": s["false_alarms_per_hour"]})  # fmt: skip
    return rows


def plot_sweep(rows: list[dict], path: Path, report: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    fa = [r["false_alarms_per_hour"] for r in rows]
    dr = [100 * (r["detection_rate"] or 0) for r in rows]
    ax.plot(fa, dr, "o-")
    for r, x, y in zip(rows, fa, dr):
        ax.annotate(f"{r['threshold']:g}", (x, y), textcoords="offset points", xytext=(4, 4),
                    fontsize=7)  # fmt: skip
    ax.set_xlabel("false alarms per hour")
    ax.set_ylabel("keywords detected (%)")
    ax.set_title(f"streaming, {report['stream_seconds']:.0f} s test stream (labels: threshold)",
                 fontsize=9)  # fmt: skip
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def on_device(elf: Path, model: IntegerModel, stream: Stream, p: MfccParams, board: str,
              seconds: float, timeout: float, out: Path, progress: bool) -> dict:  # fmt: skip
    from ecqx.hil.device import Device
    from ecqx.hil.plugin import build_plugin, marker_addresses
    from ecqx.hil.stream import run_stream
    from ecqx.hil.transport import QemuTransport

    n = min(stream.pcm.size, int(seconds * p.sample_rate) // p.hop * p.hop)
    pcm = stream.pcm[:n]
    ref = reference(model, pcm, RecognizerParams())  # the firmware's recognizer
    icount = out / "instructions.txt"
    icount.unlink(missing_ok=True)
    transport = QemuTransport(elf, board, build_plugin(out), marker_addresses(elf), icount, None)
    with transport:
        r = run_stream(Device(transport, timeout=timeout), pcm, p.hop, ref.logits,
                       ref.detections, icount, progress, boot=True)  # fmt: skip
    return r | {"seconds": n / p.sample_rate}


def markdown(r: dict) -> str:
    lines = ["# Streaming recognition", "", summary(r), "",
             f"- recognizer: {r['recognizer']}", f"- stream seed {r['seed']}, data {r['data']}",
             "", "| threshold | detected | false alarms / hour |", "|---|---|---|"]  # fmt: skip
    for t in r["thresholds"]:
        lines.append(f"| {t['threshold']:g} | {100 * (t['detection_rate'] or 0):.1f}% | "
                     f"{t['false_alarms_per_hour']:.0f} |")  # fmt: skip
    dev = r.get("device")
    if dev:
        ih = dev["instructions_per_hop"]
        lines += ["", f"- device: {dev['hops']} hops ({dev['seconds']:.1f} s), "
                  f"{dev['inferences']} inferences, logits bit-exact "
                  f"{'yes' if dev['logits_bit_exact'] else 'NO'}, detections equal "
                  f"{'yes' if dev['detections_equal'] else 'NO'}"
                  + (f" (stopped: {dev['failure']})" if dev["failure"] else "")]  # fmt: skip
        if ih["mean"] is not None:
            lines.append(f"- instructions per 20 ms hop: mean {ih['mean']:.0f}, with an inference "
                         f"{ih['with_inference'] or 0:.0f}, without "
                         f"{ih['without_inference'] or 0:.0f} (exact, emulator)")  # fmt: skip
    return "\n".join(lines) + "\n"

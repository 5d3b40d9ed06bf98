"""``ecqx stream``: streaming keyword recognition measured on a long test stream (test-split
clips at known times over background noise): detection rate and false alarms per hour of the
integer reference, and optionally the device running the same stream bit for bit."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ecqx.data.features import MfccParams
from ecqx.data.fixed_mfcc import Q_OUT, stream_coefficients
from ecqx.data.stream import Event, Stream
from ecqx.integer import engine
from ecqx.integer.model import IntegerModel
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
    p = MfccParams.from_dict(model.meta["mfcc"])
    coeffs = stream_coefficients(pcm, p)
    last = np.arange(p.frames - 1, len(coeffs), rp.infer_every)
    windows = np.stack([coeffs[t - p.frames + 1 : t + 1].reshape(-1) for t in last])
    x = model.quantize_input(windows * np.float32(2.0**-Q_OUT))
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
        rows.append({"seconds": round(t, 3), "keyword": labels[d.label], "lead": d.lead,
                     "count": d.count, "match": None if hit is None else targets[hit].start})  # fmt: skip
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
    lines = ["start_seconds,label,clip"] + [f"{e.start:.4f},{e.label},{e.clip}" for e in stream.events]
    write_text(out / "events.csv", "\n".join(lines) + "\n")

"""The streaming recognizer on a device: push a stream hop by hop and compare every inference's
logits and every detection with the reference (``ecqx.streaming.reference``). A device failure
ends the run with what was obtained so far."""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from ecqx.hil.check import read_instruction_counts
from ecqx.hil.device import Device, HilError
from ecqx.hil.transport import TransportError
from ecqx.integer.recognize import Detection


def run_stream(device: Device, pcm: np.ndarray, hop: int, ref_logits: np.ndarray,
               ref_detections: list[Detection], icount_file=None,  # noqa: ANN001
               progress: bool = True, boot: bool = False) -> dict:  # fmt: skip
    """Stream ``pcm`` (a whole number of hops) to the device's recognizer."""
    logits, inferred_at, detections = [], [], []
    failure = None
    try:
        if boot:
            device.wait_boot()
        device.stream_reset()
        hops = pcm.reshape(-1, hop)
        for i in tqdm(range(len(hops)), desc=f"stream on {device.t.describe()}",
                      disable=not progress):  # fmt: skip
            r = device.stream_push(hops[i])
            inferred_at.append(r.inferred)
            if r.inferred:
                logits.append(np.frombuffer(r.logits, np.int8))
            if r.detected:
                detections.append((r.frame, r.index, r.lead))
    except (HilError, TransportError) as e:
        failure = f"{type(e).__name__}: {e}"
    n = len(logits)
    got = np.stack(logits) if n else np.zeros((0, ref_logits.shape[1]), np.int8)
    ref = ref_logits[:n]
    frames_done = (n - 1) if n else -1
    want = [(d.frame, d.label, d.lead) for d in ref_detections if d.inference <= frames_done]
    counts = read_instruction_counts(icount_file)
    per_push = np.array(counts[: len(inferred_at)], np.int64)
    flags = np.array(inferred_at[: len(per_push)], bool)
    return {
        "board": device.info.board if device.info else None,
        "hops": len(inferred_at),
        "inferences": n,
        "failure": failure,
        "logits_bit_exact": failure is None and np.array_equal(got, ref) and n == len(ref_logits),
        "differing_inferences": int((got != ref).any(axis=1).sum()) if n else 0,
        "detections": [list(map(int, d)) for d in detections],
        "detections_equal": failure is None and detections == want,
        "instructions_per_hop": {
            "mean": float(per_push.mean()) if per_push.size else None,
            "with_inference": float(per_push[flags].mean()) if flags.any() else None,
            "without_inference": float(per_push[~flags].mean()) if (~flags).any() else None,
            "note": "exact guest instructions of ecqx_stream_push (QEMU TCG plugin), not cycles",
        },
    }

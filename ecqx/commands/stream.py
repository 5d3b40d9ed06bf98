"""``ecqx stream``: streaming keyword recognition on a long test stream."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecqx.codegen.boards import emulated
from ecqx.commands.options import add_out, positive_float, positive_int
from ecqx.commands.predict import DEFAULT_MODEL
from ecqx.integer.recognize import RecognizerParams
from ecqx.run import RunDir

HELP = "streaming recognition: detection rate and false alarms per hour on a test stream"
DESCRIPTION = (
    "Build a long stream from the test split (keywords and other words at known times, "
    "pauses, a background-noise bed; deterministic for --seed), run the streaming recognizer "
    "of the integer model on it (the model every --infer-every frames on the last second, "
    "logits summed over --average runs, a detection when a keyword leads the runner-up by "
    "--threshold logits, then --suppression-frames of quiet) and report detection rate and "
    "false alarms per hour, with a threshold sweep. With --board the firmware runs the first "
    "--device-seconds of the stream on the emulator with its built-in (default) settings, "
    "compared inference by inference with the reference."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = RecognizerParams()
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help=f"training run folder, exported (default {DEFAULT_MODEL})")  # fmt: skip
    p.add_argument("--data", default=None, help="dataset (default: the training data)")
    p.add_argument("--seconds", type=positive_float, default=600.0,
                   help="length of the test stream (default 600)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="stream seed (default 0)")
    add_out(p, None, "report folder (default MODEL/stream)")
    p.add_argument("--infer-every", type=positive_int, default=d.infer_every,
                   help=f"frames (20 ms) between inferences (default {d.infer_every})")  # fmt: skip
    p.add_argument("--average", type=positive_int, default=d.average,
                   help=f"inferences whose logits are summed (default {d.average})")  # fmt: skip
    p.add_argument(
        "--min-count",
        type=positive_int,
        default=d.min_count,
        help=f"fewest inferences in the sum to decide (default {d.min_count})",
    )
    p.add_argument("--threshold", type=positive_float, default=d.threshold,
                   help="mean logit lead of the keyword over the runner-up (default "
                   f"{d.threshold:g})")  # fmt: skip
    p.add_argument("--suppression-frames", type=positive_int, default=d.suppression_frames,
                   help="frames after a detection without another (default "
                   f"{d.suppression_frames})")  # fmt: skip
    p.add_argument("--board", choices=emulated(), default=None,
                   help="also run the stream on this emulated board")  # fmt: skip
    p.add_argument("--device-seconds", type=positive_float, default=20.0,
                   help="seconds of the stream sent to the device (default 20)")  # fmt: skip
    p.add_argument("--timeout", type=positive_float, default=10.0,
                   help="seconds to wait for each device reply (default 10)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from ecqx.streaming import evaluate, summary

    rp = RecognizerParams(args.infer_every, args.average, args.min_count, args.threshold,
                          args.suppression_frames)  # fmt: skip
    rp.validate()
    out = Path(args.out) if args.out else RunDir(Path(args.model)).stream
    r = evaluate(Path(args.model), out, rp, args.seconds, args.seed, args.data, args.board,
                 args.device_seconds, args.timeout)  # fmt: skip
    print(summary(r))
    print(f"report: {out / 'stream_report.md'}, {out / 'detection_vs_false_alarms.png'}, "
          f"{out / 'stream.wav'}")  # fmt: skip
    dev = r.get("device")
    return 1 if dev and not (dev["logits_bit_exact"] and dev["detections_equal"]) else 0

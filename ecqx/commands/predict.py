"""``ecqx predict``: the keyword in a WAV file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ecqx.commands.pipeline import DEFAULT_WORK

HELP = "the keyword in a WAV file, by the integer reference engine"
DEFAULT_MODEL = f"{DEFAULT_WORK}/train"
DESCRIPTION = (
    "Classify the first second of a 16-bit mono WAV file (shorter files are padded with "
    "silence) with the integer model: the same front end and integers as the exported C "
    "library and the device. Prints the keyword and every class's int8 logit and probability."
)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("wav", nargs="+", help="WAV file(s): 16-bit PCM, mono, 16 kHz")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="a training run folder (its export/integer_model.npz) or an integer "
                   f"model file (default {DEFAULT_MODEL}, the pipeline's model)")  # fmt: skip
    p.add_argument("--json", action="store_true", help="one JSON object per file instead")


def run(args: argparse.Namespace) -> int:
    from ecqx.keyword import load_model, predict_wav

    model = load_model(Path(args.model))
    for wav in args.wav:
        r = predict_wav(Path(wav), model)
        if args.json:
            print(
                json.dumps(
                    {
                        "file": wav,
                        "keyword": r.label,
                        "index": r.index,
                        "logits": r.logits.tolist(),
                        "used": r.used,
                        "probabilities": dict(zip(model.labels, map(float, r.probabilities))),
                    }
                )
            )
            continue
        print(f"{wav}: {r.label} ({r.used})")
        print(r.table(model.labels))
    return 0

"""``ecqx hil``: the hardware-in-the-loop check on a board or the emulator."""

from __future__ import annotations

import argparse
from pathlib import Path

from ecqx.codegen.boards import emulated
from ecqx.commands.export import add_model
from ecqx.commands.options import add_out, positive_float, positive_int
from ecqx.run import RunDir

HELP = "hardware-in-the-loop check on a board or the emulator"
DESCRIPTION = (
    "Stream the test split to the device over the framed serial protocol and check every "
    "output bit for bit against the integer reference engine. With --board (an emulated "
    "board) the firmware is built if needed and QEMU is started; instruction counts are exact "
    "(TCG plugin). With --audio the device gets the 16-bit PCM clips and runs the fixed-point "
    "front end too; its features are checked as well, and the front end's instructions are "
    "counted separately. Exit status 1 on any mismatch, hang or reset."
)


def add_limit(p: argparse.ArgumentParser) -> None:
    p.add_argument("--limit", type=positive_int, default=None,
                   help="check N test samples, a deterministic class-stratified subset "
                   "(default: all)")  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_model(p)
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--board", choices=emulated(), help="run on an emulated board (QEMU)")
    where.add_argument("--port", help="serial port of a real board, e.g. /dev/ttyACM0")
    p.add_argument("--baud", type=positive_int, default=115200,
                   help="serial baud rate (default 115200)")  # fmt: skip
    p.add_argument("--data", default=None, help="dataset (default: the training data)")
    add_limit(p)
    p.add_argument("--audio", action="store_true",
                   help="send raw audio (32 KB a clip: slow over a serial link, so consider "
                   "--limit) and check the device's front end as well as the network")  # fmt: skip
    add_out(p, None, "report folder (default MODEL/hil, with --audio MODEL/hil-audio)")
    p.add_argument("--timeout", type=positive_float, default=5.0,
                   help="seconds to wait for each reply (default 5)")  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from ecqx.hil.run import hil, summary

    r = hil(Path(args.model), board=args.board, port=args.port, baud=args.baud,
            data=args.data, limit=args.limit, out=args.out, timeout=args.timeout,
            audio=args.audio)  # fmt: skip
    print(summary(r))
    out = Path(args.out) if args.out else RunDir(Path(args.model)).hil_reports(args.audio)
    print(f"report: {out / 'hil_report.md'}, {out / 'hil_report.json'}, {out / 'confusion.png'}")
    return 0 if r["bit_exact"] else 1

"""The ``ecqx`` command: assembles one subcommand per module of ``ecqx.commands`` (each with
``add_arguments`` and ``run``). Errors in the user's input, files or device end with a one-line
message and exit code 2; anything else is a bug and keeps its traceback."""

from __future__ import annotations

import argparse
import logging
import sys
from types import ModuleType

from ecqx import __version__
from ecqx.commands import (
    bench,
    data_images,
    data_synth,
    export,
    hil,
    holdout,
    pipeline,
    predict,
    prune,
    share,
    stream,
    sweep,
    train,
)
from ecqx.errors import EcqxError

# (name, module) in the order of the data flow; `data synth` is a subcommand of `data`
COMMANDS: tuple[tuple[str, ModuleType], ...] = (
    ("train", train),
    ("sweep", sweep),
    ("holdout", holdout),
    ("prune", prune),
    ("share", share),
    ("export", export),
    ("hil", hil),
    ("predict", predict),
    ("stream", stream),
    ("bench", bench),
    ("pipeline", pipeline),
)


def _add(sub: argparse._SubParsersAction, name: str, module: ModuleType) -> None:
    p = sub.add_parser(name, help=module.HELP, description=module.DESCRIPTION)
    module.add_arguments(p)
    p.set_defaults(func=module.run)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="ecqx",
        description="Explainability-driven entropy-constrained quantization (ECQx) of a "
        "keyword-spotting MLP down to a sparse low-bit integer model.",
    )
    ap.add_argument("--version", action="version", version=f"ecqx {__version__}")
    sub = ap.add_subparsers(dest="command", required=True, metavar="COMMAND")
    data = sub.add_parser("data", help="dataset tools", description="Dataset tools.")
    dsub = data.add_subparsers(dest="data_command", required=True, metavar="SUBCOMMAND")
    _add(dsub, "synth", data_synth)
    _add(dsub, "images", data_images)
    for name, module in COMMANDS:
        _add(sub, name, module)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # library warnings (a rebuilt cache, a re-done pre-training) as "ecqx: warning: ..."
    logging.basicConfig(format="ecqx: warning: %(message)s", level=logging.WARNING)
    try:
        return args.func(args)
    except EcqxError as e:
        print(f"ecqx: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ecqx: interrupted; finished files and partial reports are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

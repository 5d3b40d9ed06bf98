"""The ``ecqx`` command: a thin argparse layer over the library. Each subcommand's --help
explains its options; errors in the user's input end with a one-line message and exit code 2."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from ecqx import __version__
from ecqx.bits import MAX_BITS, MIN_BITS
from ecqx.config import TrainConfig
from ecqx.export.c_headers import FORMATS
from ecqx.hil.transport import QEMU_MACHINES

DEFAULT_DATA = Path("data/gsc-synth")
DEFAULT_WORK = Path("runs/pipeline")
EMULATED_BOARDS = tuple(QEMU_MACHINES)


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {value!r}")
    return n


def _positive_float(value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        v = float("nan")
    if not v > 0 or v == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {value!r}")
    return v


def _out_folder(value: str) -> str:
    """An output folder that can be created or written: checked before any work starts."""
    path = Path(value)
    if path.exists() and not path.is_dir():
        raise argparse.ArgumentTypeError(f"{value} is a file, not a folder")
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"cannot create {value}: {existing} is not writable")
    return value


def _bits(value: str) -> int:
    b = int(value)
    if not MIN_BITS <= b <= MAX_BITS:
        raise argparse.ArgumentTypeError(f"bit width must be {MIN_BITS}..{MAX_BITS}, got {b}")
    return b


def add_train_options(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument(
        "--bits",
        type=_bits,
        default=d.bits,
        help=f"weight bit width {MIN_BITS}..{MAX_BITS} (default {d.bits})",
    )
    p.add_argument(
        "--lam",
        type=float,
        default=d.lam,
        help="entropy-constraint strength lambda; larger = sparser. Distances are in "
        "quantization steps; with the warm-up, ~16..1024 spans ~30-85%% sparsity "
        f"(default {d.lam:g})",
    )
    p.add_argument(
        "--p",
        type=float,
        default=d.p,
        help="ECQx target: max extra sparsity per layer that relevance may add, "
        f"0..1 (default {d.p})",
    )
    p.add_argument(
        "--method",
        choices=("ecqx", "ecq"),
        default=d.method,
        help="ecqx: LRP relevance in the assignment; ecq: plain entropy-constrained "
        f"(default {d.method})",
    )
    p.add_argument(
        "--epochs",
        type=int,
        default=d.epochs,
        help=f"quantization-aware training epochs (default {d.epochs})",
    )
    p.add_argument(
        "--lam-warmup",
        type=float,
        default=d.lam_warmup,
        help="epochs over which lambda ramps linearly from 0 to --lam; 0 applies it from the "
        f"first step, which collapses large lambdas (default {d.lam_warmup:g})",
    )
    p.add_argument(
        "--fp-epochs",
        type=int,
        default=d.fp_epochs,
        help="full-precision pre-training epochs; the pre-trained model is cached in "
        f"the output folder and reused (default {d.fp_epochs})",
    )
    p.add_argument("--batch", type=int, default=d.batch, help=f"batch size (default {d.batch})")
    p.add_argument("--seed", type=int, default=d.seed, help=f"random seed (default {d.seed})")


def config_from(args: argparse.Namespace) -> TrainConfig:
    """The run's configuration, checked (a bad value names its option), with its warnings."""
    cfg = TrainConfig(
        bits=args.bits,
        lam=args.lam,
        p=args.p,
        method=args.method,
        epochs=args.epochs,
        lam_warmup=args.lam_warmup,
        fp_epochs=args.fp_epochs,
        batch=args.batch,
        seed=args.seed,
    )
    cfg.validate()
    for w in cfg.warnings():
        print(f"ecqx: warning: {w}", file=sys.stderr)
    return cfg


def cmd_data_synth(args: argparse.Namespace) -> int:
    from ecqx.data.synth import generate

    s = generate(Path(args.out), size=args.size, seed=args.seed, workers=args.workers,
                 force=args.force)  # fmt: skip
    print(f"wrote {s['clips']} clips from {s['speakers']} speakers to {args.out}")
    if s["failures"]:
        print(f"{len(s['failures'])} clips failed, e.g. {s['failures'][0]}", file=sys.stderr)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from ecqx.data.gsc import GSCData
    from ecqx.train import train

    cfg = config_from(args)  # a bad option fails before the data is loaded
    m = train(GSCData(Path(args.data)), Path(args.out), cfg)
    print(summary_table(m))
    print(
        f"checkpoint: {Path(args.out) / 'model.pt'}\nmetrics:    {Path(args.out) / 'metrics.json'}"
    )
    return 0


def _floats(value: str) -> list[float]:
    try:
        return [float(v) for v in value.split(",") if v.strip()]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {value!r}") from e


def _bit_list(value: str) -> list[int]:
    return [_bits(v) for v in value.split(",") if v.strip()]


def cmd_sweep(args: argparse.Namespace) -> int:
    from ecqx.sweep import grid, sweep
    from ecqx.sweep_plots import accuracy_vs_size, accuracy_vs_sparsity, relevance_figure

    out = Path(args.out)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    if not methods or set(methods) - {"ecq", "ecqx"}:
        raise ValueError(f"--methods takes ecq and/or ecqx, got {args.methods!r}")
    points = grid(methods, args.bits, args.lams, args.ps)
    print(f"{len(points)} grid points -> {out / 'results.csv'}")
    base = TrainConfig(epochs=args.epochs, fp_epochs=args.fp_epochs, batch=args.batch,
                       seed=args.seed, lam_warmup=args.lam_warmup)  # fmt: skip
    base.validate()
    for w in base.warnings():
        print(f"ecqx: warning: {w}", file=sys.stderr)
    rows = sweep(Path(args.data), out, points, base)
    figs = [
        accuracy_vs_sparsity(rows, out / f"fig7_top1_vs_sparsity_{b}bit.png", bits=b)
        for b in sorted({int(r["bits"]) for r in rows})
    ]
    figs.append(accuracy_vs_size(rows, out / "fig9_top1_vs_size.png"))
    ecqx_runs = [r for r in rows if r["method"] == "ecqx"]
    if ecqx_runs:
        pick = max(ecqx_runs, key=lambda r: float(r["sparsity"]))
        for layer, where in ((0, "input"), (-1, "output")):
            figs.append(
                relevance_figure(
                    out / "runs" / pick["run"],
                    out / f"fig4_weight_vs_relevance_{where}_layer.png",
                    layer=layer,
                )
            )
    print(f"{len(rows)} runs in {out / 'results.csv'}")
    for f in figs:
        if f is not None:
            print(f"figure: {f}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from ecqx.export.pipeline import TARGETS, export, summary_table

    out = Path(args.out) if args.out else Path(args.model) / "export"
    if args.target == "cortex-m":
        from ecqx.codegen.firmware_build import export_cortex_m

        return export_cortex_m(Path(args.model), out, board=args.board, data=args.data,
                               weights=args.weights)  # fmt: skip
    targets = list(TARGETS) if args.target == "all" else [args.target]
    report = export(Path(args.model), out, targets, data=args.data, weights=args.weights)
    print(summary_table(report))
    print(f"report: {out / 'export_report.json'}")
    return 0


def cmd_hil(args: argparse.Namespace) -> int:
    from ecqx.hil.run import hil, summary

    r = hil(Path(args.model), emulator=args.emulator, port=args.port, baud=args.baud,
            data=args.data, limit=args.limit, out=args.out, timeout=args.timeout)  # fmt: skip
    print(summary(r))
    out = Path(args.out) if args.out else Path(args.model) / "hil"
    print(f"report: {out / 'hil_report.md'}, {out / 'hil_report.json'}, {out / 'confusion.png'}")
    return 0 if r["bit_exact"] else 1


def cmd_bench(args: argparse.Namespace) -> int:
    from ecqx.bench import run

    run(args)
    return 0


def cmd_pipeline(args: argparse.Namespace) -> int:
    from ecqx.data.gsc import GSCData
    from ecqx.data.synth import generate
    from ecqx.train import finished, train

    cfg = config_from(args)
    work = Path(args.work)
    data_dir = Path(args.data) if args.data else work / "gsc-synth"
    if not args.data:
        print(f"[1/5] synthesizing the stand-in dataset ({args.size}) into {data_dir}")
        generate(data_dir, size=args.size, seed=args.seed)
    model_dir = work / "train"
    print(f"[2/5] training MLP_GSC and quantizing with {args.method.upper()} at {args.bits} bits")
    if finished(model_dir, cfg):
        m = json.loads((model_dir / "metrics.json").read_text())
        print("      reusing the finished training run")
    else:
        m = train(GSCData(data_dir), model_dir, cfg)
    print(summary_table(m))

    from ecqx.codegen.firmware_build import REPORT as FIRMWARE_REPORT
    from ecqx.codegen.firmware_build import export_cortex_m
    from ecqx.export.pipeline import TARGETS, export
    from ecqx.export.pipeline import summary_table as export_table
    from ecqx.hil.run import hil, summary

    print("[3/5] exporting the integer model: ONNX QDQ, TFLite, C header, NNC")
    ex = export(model_dir, model_dir / "export", list(TARGETS))
    print(export_table(ex))
    print(f"[4/5] building the firmware for {args.board} with PlatformIO (offline)")
    export_cortex_m(model_dir, model_dir / "export", board=args.board)
    print(f"[5/5] hardware-in-the-loop check on the emulated {args.board} (QEMU)")
    h = hil(model_dir, emulator=args.board, limit=args.limit)
    print(summary(h))
    fw = json.loads((model_dir / "export" / FIRMWARE_REPORT).read_text())
    final = {
        "top1_test": {
            "float": m["top1_fp"]["testing"],
            "quantized_weights": m["top1_quantized"]["testing"],
            "integer": ex["top1"]["integer"],
            "device": h["top1"]["device"],
        },
        "sparsity": m["sparsity"],
        "bits": args.bits,
        "bytes": {
            "float32": ex["nnc"]["float32_bytes"],
            "c_weights": fw["weight_bytes"],
            "nnc": ex["nnc"]["bytes"],
            "flash": fw["sizes"]["flash"],
            "ram": fw["sizes"]["ram"],
        },
        "compression_ratio_nnc": ex["nnc"]["compression_ratio"],
        "instructions_per_inference": h["instructions_per_inference"]["mean"],
        "hil_bit_exact": h["bit_exact"],
    }
    (work / "summary.json").write_text(json.dumps(final, indent=1))
    print("\n== summary ==")
    t = final["top1_test"]
    print(
        f"test top-1: float {t['float']:.4f} | quantized {t['quantized_weights']:.4f} | "
        f"integer {t['integer']:.4f} | on device {t['device'] or 0:.4f}"
    )
    b = final["bytes"]
    ipi = final["instructions_per_inference"]
    print(
        f"sparsity {final['sparsity']:.3f} at {args.bits} bits; weights {b['float32']} B float32 "
        f"-> {b['c_weights']} B in C, {b['nnc']} B NNC (CR {final['compression_ratio_nnc']:.1f}x)"
        f"; firmware flash {b['flash']} B, RAM {b['ram']} B; "
        f"{'-' if ipi is None else f'{ipi:.0f}'} instructions per inference; "
        f"device bit-exact: {'yes' if final['hil_bit_exact'] else 'NO'}"
    )
    return 0 if final["hil_bit_exact"] else 1


def summary_table(m: dict) -> str:
    lines = [
        f"{'layer':10s} {'shape':>12s} {'bits':>4s} {'sparsity':>8s} {'entropy':>7s} {'beta':>5s}"
    ]
    for r in m["layers"]:
        shape = "x".join(map(str, r["shape"]))
        lines.append(
            f"{r['name']:10s} {shape:>12s} {r['bits']:4d} {r['sparsity']:8.3f} "
            f"{r['entropy']:7.3f} {r['beta']:5.2f}"
        )
    fp, q = m["top1_fp"]["testing"], m["top1_quantized"]["testing"]
    lines.append(
        f"test top-1: float {fp:.4f}, quantized {q:.4f}; sparsity {m['sparsity']:.4f}; "
        f"entropy {m['entropy_bits_per_weight']:.3f} bit/weight"
    )
    return "\n".join(lines)


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
    synth = dsub.add_parser(
        "synth",
        help="generate the offline Speech Commands stand-in",
        description="Synthesize a Google Speech Commands stand-in (same layout, all 35 words, "
        "speaker-disjoint validation/testing lists) with espeak-ng and flite. Resumable.",
    )
    synth.add_argument("--out", required=True, type=_out_folder, help="output folder")
    synth.add_argument(
        "--size",
        choices=("tiny", "small", "default"),
        default="default",
        help="tiny: 6 speakers (tests, seconds); small: 40; default: 300 speakers "
        "(~10k clips, a few minutes on 2 cores)",
    )
    synth.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    synth.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    synth.add_argument(
        "--force",
        action="store_true",
        help="if --out holds a stand-in made with another --size/--seed, delete it and start "
        "over (without --force that is refused: resuming would mix the two speaker splits)",
    )
    synth.set_defaults(func=cmd_data_synth)

    tr = sub.add_parser(
        "train",
        help="pre-train MLP_GSC and quantize it with ECQ/ECQx",
        description="Full-precision pre-training (SGD, cosine), then ECQ/ECQx quantization-aware "
        "training (Adam 1e-3, lambda warm-up) of every layer. Writes model.pt and metrics.json "
        "to --out.",
    )
    tr.add_argument(
        "--data",
        default=str(DEFAULT_DATA),
        help=f"Speech Commands folder (real or synthesized; default {DEFAULT_DATA})",
    )
    tr.add_argument(
        "--out",
        required=True,
        type=_out_folder,
        help="output folder (later commands take it as --model)",
    )
    add_train_options(tr)
    tr.set_defaults(func=cmd_train)

    sw = sub.add_parser(
        "sweep",
        help="ECQ vs ECQx grid over lambda, p and bit width, with the paper's figures",
        description="Train one quantized model per grid point (methods x bits x lambdas x p; "
        "ECQ ignores p), sharing one pre-trained float model. Resumable: finished points are "
        "kept. Writes results.csv (sparsity, top-1 float/quantized/integer, NNC bytes, QAT "
        "epoch time) and the figures: top-1 vs sparsity per bit width (ECQ vs ECQx), top-1 vs "
        "NNC size per bit width, weight vs relevance of the sparsest ECQx run's input and "
        "output layers.",
    )
    sw.add_argument(
        "--data",
        default=str(DEFAULT_DATA),
        help=f"Speech Commands folder (default {DEFAULT_DATA})",
    )
    sw.add_argument(
        "--out", default="runs/sweep", type=_out_folder, help="sweep folder (default runs/sweep)"
    )
    sw.add_argument(
        "--methods", default="ecq,ecqx", help="comma-separated, of ecq, ecqx (default both)"
    )
    sw.add_argument(
        "--bits", type=_bit_list, default=[4], help="comma-separated bit widths (default 4)"
    )
    sw.add_argument(
        "--lams",
        type=_floats,
        default=[32.0, 128.0, 512.0, 1024.0],
        help="comma-separated lambdas (default 32,128,512,1024)",
    )
    sw.add_argument(
        "--ps", type=_floats, default=[0.1], help="comma-separated ECQx p values (default 0.1)"
    )
    for opt, default, text in (
        ("--epochs", 12, "QAT epochs per run"),
        ("--fp-epochs", 30, "pre-training epochs (once per sweep)"),
        ("--batch", 64, "batch size"),
        ("--seed", 0, "random seed"),
    ):
        sw.add_argument(opt, type=int, default=default, help=f"{text} (default {default})")
    sw.add_argument(
        "--lam-warmup",
        type=float,
        default=TrainConfig.lam_warmup,
        help="epochs over which lambda ramps linearly from 0 to its value; with fewer --epochs "
        f"than this, lambda never reaches its value (default {TrainConfig.lam_warmup:g})",
    )
    sw.set_defaults(func=cmd_sweep)

    ex = sub.add_parser(
        "export",
        help="integer model + ONNX / TFLite / C / NNC exports, or the Cortex-M firmware",
        description="Build the integer model (int8 activations calibrated on training data, "
        "int32 accumulators, fixed-point requantization) from a trained checkpoint, prove its "
        "accumulators cannot overflow, and write the requested formats into --out, each "
        "checked against the integer reference engine on the test split. --target cortex-m "
        "renders the C kernel into the PlatformIO firmware and builds it.",
    )
    ex.add_argument("--model", required=True, help="folder written by `ecqx train --out`")
    ex.add_argument(
        "--target",
        choices=("all", "onnx", "tflite", "c", "nnr", "cortex-m"),
        default="all",
        help="what to export (default all: onnx, tflite, c, nnr)",
    )
    ex.add_argument(
        "--out", default=None, type=_out_folder, help="output folder (default MODEL/export)"
    )
    ex.add_argument(
        "--data", default=None, help="dataset for calibration and checks (default: the one "
        "the model was trained on)"
    )  # fmt: skip
    ex.add_argument(
        "--weights",
        choices=FORMATS,
        default="auto",
        help="C weight encoding per layer: centroid-grouped sparse, dense packed at the bit "
        "width, dense int8; auto = the smaller of sparse and dense packed (default), fast = "
        "the fewest instructions by a Cortex-M4 cost model",
    )
    ex.add_argument(
        "--board",
        default="mps2-an386",
        choices=EMULATED_BOARDS,
        help="cortex-m target board, an emulated one (default mps2-an386, Cortex-M4F); real "
        "boards build from the exported firmware folder with `pio run -e <board>`",
    )
    ex.set_defaults(func=cmd_export)

    hl = sub.add_parser(
        "hil",
        help="hardware-in-the-loop check on a board or the emulator",
        description="Stream the test split to the device over the framed serial protocol and "
        "check every output bit for bit against the integer reference engine. With "
        "--emulator the firmware is built if needed and QEMU is started; instruction counts "
        "are exact (TCG plugin). Exit status 1 on any mismatch, hang or reset.",
    )
    hl.add_argument("--model", required=True, help="folder written by `ecqx train --out`")
    where = hl.add_mutually_exclusive_group(required=True)
    where.add_argument(
        "--emulator",
        choices=EMULATED_BOARDS,
        help="run on an emulated board (QEMU)",
    )
    where.add_argument("--port", help="serial port of a real board, e.g. /dev/ttyACM0")
    hl.add_argument("--baud", type=int, default=115200, help="serial baud rate (default 115200)")
    hl.add_argument("--data", default=None, help="dataset (default: the training data)")
    hl.add_argument(
        "--limit",
        type=_positive_int,
        default=None,
        help="check N test samples, a deterministic class-stratified subset (default: all)",
    )
    hl.add_argument(
        "--out", default=None, type=_out_folder, help="report folder (default MODEL/hil)"
    )
    hl.add_argument(
        "--timeout",
        type=_positive_float,
        default=5.0,
        help="seconds to wait for each reply (default 5)",
    )
    hl.set_defaults(func=cmd_hil)

    from ecqx.bench import add_arguments as bench_arguments

    bench = sub.add_parser(
        "bench",
        help="time assignment, relevance and QAT steps",
        description="Benchmark the quantizer on MLP_GSC-shaped weights and print a table.",
    )
    bench_arguments(bench)
    bench.set_defaults(func=cmd_bench)

    pipe = sub.add_parser(
        "pipeline",
        help="the whole job end to end (what scripts/run.sh runs)",
        description="Synthesize the default data (unless --data), train and quantize, export "
        "every format, build the firmware for an emulated Cortex-M with PlatformIO, run the "
        "HIL check on the test split, and print a summary. Re-running reuses finished steps.",
    )
    pipe.add_argument(
        "--data",
        default=None,
        help="use this Speech Commands folder instead of synthesizing one into WORK/gsc-synth",
    )
    pipe.add_argument(
        "--size",
        choices=("tiny", "small", "default"),
        default="default",
        help="size of the synthesized dataset (default: default)",
    )
    pipe.add_argument(
        "--work",
        default=str(DEFAULT_WORK),
        type=_out_folder,
        help=f"work folder: synthesized data, training run, exports, HIL report "
        f"(default {DEFAULT_WORK})",
    )
    pipe.add_argument(
        "--board",
        default="mps2-an386",
        choices=EMULATED_BOARDS,
        help="emulated board for the firmware and HIL check (default mps2-an386, Cortex-M4F)",
    )
    pipe.add_argument(
        "--limit",
        type=_positive_int,
        default=None,
        help="HIL on N test samples, a class-stratified subset (default all)",
    )
    add_train_options(pipe)
    pipe.set_defaults(func=cmd_pipeline)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from ecqx.codegen.firmware_build import FirmwareError
    from ecqx.data.audio import DataError
    from ecqx.hil.device import HilError
    from ecqx.hil.transport import TransportError
    from ecqx.integer.model import IntegerModelError

    try:
        return args.func(args)
    except (
        DataError,
        IntegerModelError,
        FirmwareError,
        TransportError,
        HilError,
        ValueError,
        FileNotFoundError,
    ) as e:
        print(f"ecqx: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ecqx: interrupted; finished files and partial reports are kept", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""Firmware benchmark: flash, RAM and exact instructions per inference on emulated cores.

For each trained model (e.g. the 4-bit and 2-bit working points), each emulated board and each
C weight encoding, build the firmware with PlatformIO, run the first N test clips through the
HIL check on QEMU (bit-exactness is checked on the way) and print one table row. Instruction
counts come from the TCG plugin between the inference markers: instructions, not cycles.

    python benchmarks/bench_firmware.py --models runs/sweep/runs/ecqx-b4-lam1024-p0.1 \
        runs/sweep/runs/ecqx-b2-lam32-p0.1 --boards mps2-an386 mps2-an500 --weights auto int8

With --audio the clips go as 16-bit PCM through the device's front end, which is counted too.

Writes the table as Markdown and JSON next to the build folders (--work).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ecqx.codegen.boards import boards, emulated
from ecqx.codegen.choices import WEIGHT_FORMATS
from ecqx.codegen.firmware_build import FirmwareError, export_cortex_m
from ecqx.hil.profile import read_profile
from ecqx.hil.profile import table as profile_table
from ecqx.hil.run import hil
from ecqx.integer.model import IntegerModel
from ecqx.run import ExportDir

COLUMNS = ("model", "bits", "sparsity", "board", "core", "weights", "weight_bytes", "flash",
           "ram", "instructions", "instructions_max", "bit_exact", "top1")  # fmt: skip
# with --audio: the device's front end on the same clips sent as 16-bit PCM
AUDIO_COLUMNS = ("front_end_instructions", "front_end_flash", "front_end_ram",
                 "network_flash", "network_ram")  # fmt: skip


def measure(
    model_dir: Path, board: str, weights: str, n: int, work: Path, profile: bool = False,
    audio: bool = False,
) -> dict:  # fmt: skip
    out = work / f"{model_dir.name}-{board}-{weights}"
    row = {"model": model_dir.name, "board": board, "core": boards()[board].core,
           "weights": weights}  # fmt: skip
    try:
        fw = export_cortex_m(model_dir, out, board=board, weights=weights)
    except FirmwareError as e:  # e.g. dense int8 weights do not fit a 512 KiB ITCM
        lines = str(e).splitlines()
        why = next((ln for ln in lines if "overflow" in ln), lines[0])
        return row | {"error": why.strip()[:120]}
    # the firmware just built in `out` is the one hil() finds there and runs
    r = hil(model_dir, board=board, limit=n, out=out / "hil", timeout=10.0, progress=False,
            export_dir=out, profile=profile, audio=audio)  # fmt: skip
    if profile:
        counts = read_profile(out / "hil" / "profile.txt")
        row["profile"] = str(out / "profile.md")
        Path(row["profile"]).write_text(
            profile_table(counts, Path(fw["elf"]), r["completed"]) + "\n"
        )
    im = IntegerModel.load(ExportDir(out).integer_model)
    nz = sum(int((ly.codes != 0).sum()) for ly in im.layers)
    total = sum(ly.codes.size for ly in im.layers)
    if audio:
        parts = fw["parts"]
        row |= {
            "front_end_instructions": round(r["audio"]["instructions_front_end"]["mean"]),
            "front_end_flash": parts["front_end"]["flash"],
            "front_end_ram": parts["front_end"]["ram"],
            "network_flash": parts["network"]["flash"],
            "network_ram": parts["network"]["ram"],
        }
    return row | {
        "bits": max(ly.bits for ly in im.layers),
        "sparsity": round(1 - nz / total, 4),
        "weight_bytes": fw["weight_bytes"],
        "flash": fw["sizes"]["flash"],
        "ram": fw["sizes"]["ram"],
        "instructions": round(r["instructions_per_inference"]["mean"]),
        # the by-column kernel skips zero inputs, so the count depends on the input
        "instructions_max": round(r["instructions_per_inference"]["max"]),
        "bit_exact": r["bit_exact"],
        "top1": r["top1"]["device"],
        "samples": r["completed"],
    }


def markdown(rows: list[dict]) -> str:
    columns = COLUMNS + (AUDIO_COLUMNS if any(AUDIO_COLUMNS[0] in r for r in rows) else ())
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for r in rows:
        if "error" in r:
            cells = [str(r.get(c, "")) for c in columns[:6]] + [f"not built: {r['error']}"]
            cells += [""] * (len(columns) - len(cells))
        else:
            cells = [f"{r[c]:,}" if isinstance(r[c], int) and not isinstance(r[c], bool)
                     else str(r[c]) for c in columns]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", required=True, help="folders from `ecqx train`")
    ap.add_argument(
        "--boards",
        nargs="+",
        default=["mps2-an386", "mps2-an500"],
        choices=emulated(),
        help="emulated boards (default M4 and M7)",
    )
    ap.add_argument(
        "--weights",
        nargs="+",
        default=["auto", "int8"],
        choices=list(WEIGHT_FORMATS),
        help="C weight encodings (default auto = sparse by row or column / dense per layer, int8)",
    )
    ap.add_argument(
        "-n", type=int, default=20, help="test clips per run, class-stratified (default 20)"
    )
    ap.add_argument("--work", default="runs/bench_firmware", help="build/report folder")
    ap.add_argument(
        "--profile",
        action="store_true",
        help="also count instructions per function (slower); printed and written to "
        "<work>/<run>/profile.md",
    )
    ap.add_argument(
        "--audio",
        action="store_true",
        help="send the clips as 16-bit PCM: also the front end's instructions and "
        "the flash/RAM of front end and network (a model on fixed-point features)",
    )
    args = ap.parse_args()  # fmt: skip
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    rows = []
    for m in args.models:
        for board in args.boards:
            for w in args.weights:
                rows.append(measure(Path(m), board, w, args.n, work, args.profile, args.audio))
                r = rows[-1]
                print(f"{r['model']} {board} {w}: " + (r.get("error") or
                      f"{r['instructions']:,} instructions, flash {r['flash']:,} B, "
                      f"bit-exact {r['bit_exact']}"), flush=True)  # fmt: skip
                if "profile" in r:
                    print(Path(r["profile"]).read_text())
    table = markdown(rows)
    (work / "bench_firmware.md").write_text(table + "\n")
    (work / "bench_firmware.json").write_text(json.dumps(rows, indent=1))
    print(table)


if __name__ == "__main__":
    main()

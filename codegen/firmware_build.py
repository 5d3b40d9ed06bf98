"""Render the generated kernel into (a copy of) the PlatformIO firmware project and build it
offline: a project-local PlatformIO core with the Debian arm-none-eabi toolchain and a local
tool-scons registered as packages, so `pio run -e <emulated board>` never needs the registry."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from ecqx.codegen.boards import FIRMWARE, default_board, emulated
from ecqx.codegen.elf import part_sizes
from ecqx.codegen.render import KERNELS, TEMPLATES, render
from ecqx.errors import EcqxError
from ecqx.files import exclusive, write_json
from ecqx.integer.model import IntegerModel
from ecqx.integer.requant import ROUNDINGS
from ecqx.run import ExportDir

TOOLS = ("gcc", "g++", "as", "ld", "ar", "gcc-ar", "gcc-ranlib", "objcopy", "objdump", "size",
         "nm", "ranlib", "strip")  # fmt: skip
SCONS_VERSION = "4.41101.0"  # PlatformIO's encoding of scons 4.11.1


class FirmwareError(EcqxError, RuntimeError):
    """The firmware could not be prepared or built; the message has the build log's tail."""


def copy_project(dest: Path, src: Path = FIRMWARE) -> Path:
    """A clean copy of the firmware project (no build outputs, no generated sources)."""
    dest = Path(dest)
    ignore = shutil.ignore_patterns(".pio", ".pio-core", "generated")
    shutil.copytree(src, dest, ignore=ignore, dirs_exist_ok=True)
    return dest


def sources_digest() -> str:
    """A hash of everything besides the model that goes into the firmware: the kernels, the
    templates and the firmware project. A firmware built from other sources (an older ecqx)
    is stale even when its model is the same."""
    import hashlib

    h = hashlib.sha256()
    for root in (KERNELS, TEMPLATES, FIRMWARE):
        for f in sorted(root.rglob("*")):
            rel = f.relative_to(root)
            if f.is_file() and not {".pio", ".pio-core", "generated"} & set(rel.parts):
                h.update(str(rel).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def prepare_core(project: Path) -> Path:
    """Populate ``project/.pio-core`` with the local toolchain and tool-scons packages."""
    core = Path(project).resolve() / ".pio-core"
    gcc = shutil.which("arm-none-eabi-gcc")
    if gcc is None:
        raise FirmwareError(
            "arm-none-eabi-gcc not found: install gcc-arm-none-eabi libnewlib-arm-none-eabi "
            "(scripts/setup.sh does it)"
        )
    tc = core / "toolchain-local"
    (tc / "bin").mkdir(parents=True, exist_ok=True)
    for tool in TOOLS:
        target = shutil.which(f"arm-none-eabi-{tool}")
        link = tc / "bin" / f"arm-none-eabi-{tool}"
        if target and not link.exists():
            link.symlink_to(target)
    (tc / "package.json").write_text(
        json.dumps(
            {
                "name": "toolchain-gccarmnoneeabi",
                "version": "1.120201.0",
                "description": "Debian's arm-none-eabi-gcc, linked",
            }
        )  # fmt: skip
    )
    scons = core / "tool-scons-local"
    scons.mkdir(parents=True, exist_ok=True)
    (scons / "package.json").write_text(
        json.dumps({"name": "tool-scons", "version": SCONS_VERSION, "description": "SCons"})
    )
    (scons / "scons.py").write_text(
        "import sys\nimport SCons.Script\n\nsys.exit(SCons.Script.main())\n"
    )
    pkgs = core / "packages"
    pkgs.mkdir(parents=True, exist_ok=True)
    spec = {"owner": "platformio", "name": "tool-scons", "uri": f"symlink://{scons}"}
    (pkgs / "tool-scons.pio-link").write_text(json.dumps({"cwd": str(pkgs), "spec": spec}))
    return core


def pio_env() -> dict:
    env = dict(os.environ)
    env.update(
        PLATFORMIO_SETTING_ENABLE_TELEMETRY="No",
        PLATFORMIO_SETTING_CHECK_PLATFORMIO_INTERVAL="3650",
        PLATFORMIO_SETTING_CHECK_PRUNE_SYSTEM_THRESHOLD="0",
        PLATFORMIO_NO_ANSI="true",
    )
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    return env


def pio(project: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "platformio", *args, "-d", str(Path(project).resolve())]
    return subprocess.run(cmd, env=pio_env(), capture_output=True, text=True, timeout=timeout)


def check_board(board: str) -> str:
    if board not in emulated():
        raise FirmwareError(
            f"board {board!r} is not an emulated board ({', '.join(emulated())}); real "
            "boards build with `pio run -e nano33ble` (internet needed for their platform)"
        )
    return board


def build(project: Path, board: str | None = None) -> Path:
    """``pio run -e board`` (default: the firmware's default board); returns the ELF."""
    board = check_board(board or default_board())
    prepare_core(project)
    proc = pio(project, "run", "-e", board)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise FirmwareError(f"firmware build for {board} failed:\n{tail}")
    return Path(project) / ".pio" / "build" / board / "firmware.elf"


def section_sizes(elf: Path) -> dict:
    """Flash and RAM use from arm-none-eabi-size -A (bytes per section, and the totals)."""
    out = subprocess.run(
        ["arm-none-eabi-size", "-A", "-d", str(elf)], capture_output=True, text=True, check=True
    ).stdout
    sections = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[0].startswith(".") and parts[1].isdigit():
            sections[parts[0]] = int(parts[1])
    flash = sum(sections.get(s, 0) for s in (".text", ".ARM.exidx", ".data"))
    ram = sum(sections.get(s, 0) for s in (".data", ".bss"))
    return {"sections": sections, "flash": flash, "ram": ram}


def export_cortex_m(
    model_dir: Path, out: Path, board: str | None = None, data: Path | None = None,
    weights: str = "auto", model: IntegerModel | None = None, rounding: str = ROUNDINGS[0],
) -> dict:  # fmt: skip
    """``ecqx export --target cortex-m``: integer model, firmware copy with the generated
    kernel, offline build; returns the firmware report (see ``firmware_table``). ``model``:
    the integer model already built from ``model_dir`` (saves calibrating it again)."""
    from ecqx.integer.from_run import build_integer

    board = check_board(board or default_board())  # before any work: a typo costs nothing
    with exclusive(out, "export") as out:
        files = ExportDir(out)
        # the old report describes the old ELF: gone until the new one is built
        files.firmware_report.unlink(missing_ok=True)
        im = model if model is not None else build_integer(model_dir, data, rounding)[2]
        im.save(files.integer_model)
        project = copy_project(files.firmware)
        summary = render(im, project / "src" / "generated", weights).summary()
        elf = build(project, board)
        sizes = section_sizes(elf)
        summary |= {"board": board, "elf": str(elf), "project": str(project), "sizes": sizes,
                    "parts": part_sizes(elf), "sources": sources_digest()}  # fmt: skip
        write_json(files.firmware_report, summary)
    return summary


def firmware_table(summary: dict) -> str:
    """The firmware report as ``ecqx export --target cortex-m`` prints it."""
    # shapes after dead-unit removal; "removed" counts the layer's units folded away
    lines = [
        f"kernel for model {summary['identity']} in {summary['project']}/src/generated",
        f"{'layer':>5s} {'shape':>9s} {'removed':>7s} {'bits':>4s} {'format':>9s} {'bytes':>8s}",
    ]
    for ly in summary["layers"]:
        lines.append(
            f"{ly['index']:5d} {ly['rows']}x{ly['cols']:<5d} {ly['dead_units_dropped']:7d} "
            f"{ly['bits']:4d} {ly['format']:>9s} {ly['weight_bytes']:8d}"
        )
    sizes = summary["sizes"]
    lines.append("section sizes (arm-none-eabi-size):")
    lines += [f"  {name:12s} {size:8d}" for name, size in sizes["sections"].items()]
    lines.append(f"flash {sizes['flash']} bytes, RAM {sizes['ram']} bytes; ELF {summary['elf']}")
    for part, b in summary.get("parts", {}).items():
        lines.append(f"  {part.replace('_', ' '):9s} flash {b['flash']:8d}  RAM {b['ram']:6d}")
    lines.append(f"flash/run: pio run -d {summary['project']} -e {summary['board']} -t upload")
    return "\n".join(lines)

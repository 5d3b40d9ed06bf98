"""The emulated boards, read from the firmware's own board files: one table for Python (export,
HIL, benchmarks, CLI choices) and the PlatformIO builder, and the one QEMU command line.

A board is a file ``firmware/platform/boards/<id>.json`` (PlatformIO's board format: CPU flags,
linker script, peripheral defines, ``build.qemu_machine``); the default board is the
``default_envs`` of ``firmware/platformio.ini``. Adding a board means adding its file and its
environment in platformio.ini, nothing else."""

from __future__ import annotations

import configparser
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

FIRMWARE = Path(__file__).resolve().parent.parent / "firmware"
BOARD_DIR = FIRMWARE / "platform" / "boards"


@dataclass(frozen=True)
class Board:
    id: str  # the PlatformIO environment and board name
    name: str
    core: str  # e.g. cortex-m4
    qemu_machine: str
    flash_bytes: int


@cache
def boards() -> dict[str, Board]:
    table = {}
    for path in sorted(BOARD_DIR.glob("*.json")):
        d = json.loads(path.read_text())
        table[path.stem] = Board(
            id=path.stem,
            name=d["name"],
            core=d["build"]["cpu"],
            qemu_machine=d["build"]["qemu_machine"],
            flash_bytes=int(d["upload"]["maximum_size"]),
        )
    return table


def emulated() -> tuple[str, ...]:
    """Board ids, the default first."""
    ids = sorted(boards())
    return (default_board(), *[b for b in ids if b != default_board()])


@cache
def default_board() -> str:
    ini = configparser.ConfigParser(interpolation=None)
    ini.read(FIRMWARE / "platformio.ini")
    return ini["platformio"]["default_envs"].split(",")[0].strip()


def qemu_command(board: str, elf: Path | str, qemu: str = "qemu-system-arm") -> list[str]:
    """QEMU running ``elf`` on ``board`` with UART0 on stdin/stdout (binary safe, unlike
    -nographic) and semihosting, so the firmware can end the emulator with an exit code."""
    return [qemu, "-machine", boards()[board].qemu_machine, "-display", "none",
            "-monitor", "none", "-serial", "stdio",
            "-semihosting-config", "enable=on,target=native", "-kernel", str(elf)]  # fmt: skip

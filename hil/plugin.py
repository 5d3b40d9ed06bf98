"""The QEMU instruction-counting plugin (qemu_plugin/icount.c, built with the host gcc) and
the firmware symbols it needs (marker addresses; functions for the profile)."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ecqx.hil.transport import TransportError

SOURCE = Path(__file__).parent / "qemu_plugin" / "icount.c"


def build_plugin(out_dir: Path) -> Path:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    lib = out_dir / "libicount.so"
    if lib.is_file() and lib.stat().st_mtime >= SOURCE.stat().st_mtime:
        return lib
    cc = shutil.which("gcc") or shutil.which("cc")
    if cc is None:
        raise TransportError("a host C compiler (gcc) is needed to build the QEMU plugin")
    proc = subprocess.run(
        [cc, "-shared", "-fPIC", "-O2", "-Wall", "-Wextra", "-Werror", "-o", str(lib), str(SOURCE)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise TransportError(f"building the QEMU plugin failed:\n{proc.stderr[-2000:]}")
    return lib


@dataclass(frozen=True)
class Symbol:
    address: int  # Thumb bit as in the ELF
    size: int  # 0 where nm gives none
    kind: str  # nm's type letter (t/T: code, w/W: weak)
    name: str


def symbols(elf: Path) -> list[Symbol]:
    """The ELF's defined symbols (``arm-none-eabi-nm -S``), or a clear error for a file that
    is not a readable firmware ELF."""
    proc = subprocess.run(["arm-none-eabi-nm", "-S", "--defined-only", str(elf)],
                          capture_output=True, text=True)  # fmt: skip
    if proc.returncode != 0:
        raise TransportError(
            f"{elf}: not a readable firmware ELF ({proc.stderr.strip()}); rebuild it with "
            "`ecqx export --target cortex-m`"
        )
    out = []
    for parts in (ln.split() for ln in proc.stdout.splitlines()):
        if len(parts) == 4:
            out.append(Symbol(int(parts[0], 16), int(parts[1], 16), parts[2], parts[3]))
        elif len(parts) == 3:
            out.append(Symbol(int(parts[0], 16), 0, parts[1], parts[2]))
    return out


def marker_addresses(elf: Path) -> tuple[int, int]:
    """Addresses of ecqx_marker_begin / ecqx_marker_end in the firmware ELF."""
    syms = {s.name: s.address for s in symbols(elf)}
    try:
        return syms["ecqx_marker_begin"], syms["ecqx_marker_end"]
    except KeyError as e:
        raise TransportError(f"{elf}: marker symbol {e} missing; rebuild the firmware") from e

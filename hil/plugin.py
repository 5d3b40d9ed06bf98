"""The QEMU instruction-counting plugin (qemu_plugin/icount.c, built with the host gcc) and
the firmware symbols it needs (marker addresses; functions for the profile)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from ecqx.codegen.elf import ElfError, symbols
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


def marker_addresses(elf: Path) -> tuple[int, int]:
    """Addresses of ecqx_marker_begin / ecqx_marker_end in the firmware ELF."""
    try:
        syms = {s.name: s.address for s in symbols(elf)}
    except ElfError as e:
        raise TransportError(str(e)) from e
    try:
        return syms["ecqx_marker_begin"], syms["ecqx_marker_end"]
    except KeyError as e:
        raise TransportError(f"{elf}: marker symbol {e} missing; rebuild the firmware") from e

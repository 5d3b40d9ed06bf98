"""Builds the QEMU instruction-counting plugin (qemu_plugin/icount.c) with the host gcc."""

from __future__ import annotations

import shutil
import subprocess
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


def marker_addresses(elf: Path) -> tuple[int, int]:
    """Addresses of ecqx_marker_begin / ecqx_marker_end in the firmware ELF."""
    proc = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise TransportError(
            f"{elf}: not a readable firmware ELF ({proc.stderr.strip()}); rebuild it with "
            "`ecqx export --target cortex-m`"
        )
    out = proc.stdout
    syms = {p[2]: int(p[0], 16) for p in (ln.split() for ln in out.splitlines()) if len(p) == 3}
    try:
        return syms["ecqx_marker_begin"], syms["ecqx_marker_end"]
    except KeyError as e:
        raise TransportError(f"{elf}: marker symbol {e} missing; rebuild the firmware") from e

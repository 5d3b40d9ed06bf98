"""Symbols of a firmware ELF (``arm-none-eabi-nm``) and what the front end and the network each
take of flash and RAM."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from ecqx.errors import EcqxError


class ElfError(EcqxError, RuntimeError):
    """The file is not a readable firmware ELF."""


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
        raise ElfError(
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


# which part of the library a symbol belongs to, by its name
FRONT_END = ("ecqx_mfcc", "ecqx_quantize_features", "ecqx_features", "ecqx_stream", "ecqx_window",
             "ecqx_cos_q15", "ecqx_sin_q15", "ecqx_bitrev", "ecqx_mel_", "ecqx_log2_table",
             "ecqx_dct_q20", "ecqx_input_mean", "ecqx_input_std", "ecqx_is_keyword",
             "ecqx_block_exponent", "ecqx_log2_q16", "ecqx_rot", "ecqx_coeff_means",
             "ecqx_round_clamp", "ecqx_classify", "ecqx_frontend_scratch")  # fmt: skip
NETWORK = ("ecqx_fc_", "ecqx_infer", "ecqx_l", "ecqx_buf_", "ecqx_acc", "ecqx_requant",
           "ecqx_argmax", "ecqx_labels", "ecqx_label")  # fmt: skip


def part_sizes(elf: Path) -> dict:
    """Bytes of flash (code and constants) and RAM (data and bss) of the library's front end
    and network, from the ELF's symbol sizes. Buffers the caller owns (the audio, an
    ``ecqx_stream_t``) and the firmware's protocol and start-up code count as neither."""
    out = {part: {"flash": 0, "ram": 0} for part in ("front_end", "network")}
    for s in symbols(elf):
        name = s.name.split(".")[0]  # static locals: "name.0"
        part = ("front_end" if name.startswith(FRONT_END) else
                "network" if name.startswith(NETWORK) else None)  # fmt: skip
        if part and s.size:
            out[part]["ram" if s.kind in "bBdD" else "flash"] += s.size
    return out

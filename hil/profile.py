"""Instruction profile of the emulated firmware: per-address counts from the TCG plugin
(``profile=PATH``) mapped to the functions of the ELF, so a kernel change can be judged by
where its instructions go, not only by the total."""

from __future__ import annotations

import bisect
from pathlib import Path

from ecqx.codegen.elf import symbols


def read_profile(path: Path) -> dict[int, int]:
    """``address count`` lines as written by the plugin at emulator exit."""
    counts: dict[int, int] = {}
    for line in Path(path).read_text().splitlines():
        addr, n = line.split()
        counts[int(addr, 16)] = int(n)
    return counts


def function_symbols(elf: Path) -> list[tuple[int, int, str]]:
    """(start, size, name) of the ELF's functions, sorted by start, Thumb bit cleared."""
    code = (s for s in symbols(elf) if s.size and s.kind in "tTwW")
    return sorted((s.address & ~1, s.size, s.name) for s in code)


def by_function(counts: dict[int, int], elf: Path) -> dict[str, int]:
    """Executions per function (inlined code counts for the function it was inlined into),
    largest first; addresses outside every symbol are reported as ``?``."""
    syms = function_symbols(elf)
    starts = [s[0] for s in syms]
    totals: dict[str, int] = {}
    for addr, n in counts.items():
        i = bisect.bisect_right(starts, addr) - 1
        name = "?"
        if i >= 0 and addr < syms[i][0] + max(syms[i][1], 2):
            name = syms[i][2]
        totals[name] = totals.get(name, 0) + n
    return dict(sorted(totals.items(), key=lambda kv: -kv[1]))


def table(counts: dict[int, int], elf: Path, inferences: int) -> str:
    """Markdown table: instructions per inference per function and their share."""
    totals = by_function(counts, elf)
    grand = sum(totals.values()) or 1
    rows = ["| function | instructions per inference | share |", "|---|---|---|"]
    for name, n in totals.items():
        rows.append(f"| {name} | {n / max(inferences, 1):,.0f} | {100 * n / grand:.1f}% |")
    return "\n".join(rows)

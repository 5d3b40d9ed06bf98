"""Weight encodings for microcontrollers (pure numpy, with decoders for the tests).

Centroid-grouped CSR ("cgcsr"): a b-bit ECQ layer has only 2^b - 2 non-zero centroids, so
instead of storing a value per non-zero weight, each row's non-zero weights are grouped by
their code and only the column positions are stored. The kernel sums the inputs of a group
and multiplies once per group (acc += code * sum), so the values cost no bytes and no MACs.

- ``counts[row * G + g]``: bytes of group g of the row (G = number of non-zero codes, in
  ascending code order, ``group_codes``); uint8, or uint16 when a group needs more than 255.
- ``deltas``: for each group, the column gaps as uint8, starting from column -1; each byte
  ``d`` in 1..255 moves ``d`` columns and adds that input; ``0`` is an escape that moves 255
  columns without adding (for gaps longer than 255).

Dense packed: two's-complement fields of ``storage_bits`` (2, 4 or 8) per weight, row-major,
the first weight in the low bits of each byte (TFLite's INT4 layout).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ESCAPE = 0
MAX_GAP = 255


def group_codes(codes: np.ndarray) -> list[int]:
    """The non-zero codes of the layer's symmetric grid, ascending."""
    hi = max(1, int(np.abs(codes).max(initial=0)))
    return [c for c in range(-hi, hi + 1) if c != 0]


@dataclass
class GroupedCSR:
    codes: list[int]
    counts: np.ndarray  # uint8 or uint16 [rows * G]
    deltas: np.ndarray  # uint8

    @property
    def nbytes(self) -> int:
        return int(self.counts.nbytes + self.deltas.nbytes)


def encode_cgcsr(codes: np.ndarray, group_list: list[int] | None = None) -> GroupedCSR:
    codes = np.asarray(codes)
    groups = group_list if group_list is not None else group_codes(codes)
    counts, deltas = [], []
    for row in codes:
        for c in groups:
            cols = np.flatnonzero(row == c)
            gaps = np.diff(np.concatenate(([-1], cols)))
            out: list[int] = []
            for gap in gaps.tolist():
                while gap > MAX_GAP:
                    out.append(ESCAPE)
                    gap -= MAX_GAP
                out.append(gap)
            counts.append(len(out))
            deltas.extend(out)
    ctype = np.uint8 if max(counts, default=0) <= 255 else np.uint16
    return GroupedCSR(groups, np.asarray(counts, ctype), np.asarray(deltas, np.uint8))


def decode_cgcsr(enc: GroupedCSR, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.int8)
    G = len(enc.codes)
    k = 0
    for r in range(shape[0]):
        for g, c in enumerate(enc.codes):
            p = -1
            for d in enc.deltas[k : k + int(enc.counts[r * G + g])].tolist():
                if d == ESCAPE:
                    p += MAX_GAP
                else:
                    p += d
                    out[r, p] = c
            k += int(enc.counts[r * G + g])
    return out


def storage_bits(bits: int) -> int:
    """Field width of the dense packed layout for b-bit codes."""
    return 2 if bits == 2 else 4 if bits <= 4 else 8


def pack_dense(codes: np.ndarray, bits: int) -> np.ndarray:
    width = storage_bits(bits)
    flat = np.asarray(codes, np.int8).flatten()
    if width == 8:
        return flat.view(np.uint8).copy()
    per = 8 // width
    pad = (-flat.size) % per
    v = np.concatenate([flat, np.zeros(pad, np.int8)]).astype(np.uint8) & ((1 << width) - 1)
    v = v.reshape(-1, per).astype(np.uint16)
    packed = np.zeros(v.shape[0], np.uint16)
    for k in range(per):
        packed |= v[:, k] << (k * width)
    return packed.astype(np.uint8)


def unpack_dense(packed: np.ndarray, bits: int, shape: tuple[int, int]) -> np.ndarray:
    width = storage_bits(bits)
    n = shape[0] * shape[1]
    if width == 8:
        return packed.view(np.int8)[:n].reshape(shape).copy()
    per = 8 // width
    fields = np.stack([(packed >> (k * width)) & ((1 << width) - 1) for k in range(per)], 1)
    fields = fields.flatten()[:n].astype(np.int16)
    fields[fields >= 1 << (width - 1)] -= 1 << width
    return fields.astype(np.int8).reshape(shape)

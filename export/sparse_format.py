"""Weight encodings for microcontrollers (pure numpy, with decoders for the tests).

Centroid-grouped sparse ("grouped"): a b-bit ECQ layer has only 2^b - 2 non-zero centroids, so
instead of a value per non-zero weight only column positions are stored, grouped by code. The
kernel sums the inputs of a group and multiplies once (acc += code * sum): values cost no bytes
and no multiplies. A group covers at most 256 columns (a window starting at its first column)
and at most 255 weights, so every position is one uint8 offset from the window base and the
inner loop is load offset, load input, add - three instructions per non-zero weight, with no
escapes to test. Codes with weights spread wider than 256 columns take several groups.

- ``row_groups[r]``: number of groups of row r (uint8);
- per group, in row order and ascending code: ``codes`` (int8), ``counts`` (uint8, >= 1),
  ``bases`` (uint16, first column of the window); the C header packs them into one word per
  group (``descriptors``: base | count << 16 | code << 24) so the kernel keeps one pointer;
- ``offsets``: per group its weights' ``column - base``, ascending, uint8.

Dense packed: two's-complement fields of ``storage_bits`` (2, 4 or 8) per weight, row-major,
the first weight in the low bits of each byte (TFLite's INT4 layout).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW = 256
MAX_COUNT = 255


@dataclass
class GroupedSparse:
    row_groups: np.ndarray  # uint8 [rows]
    codes: np.ndarray  # int8 [groups]
    counts: np.ndarray  # uint8 [groups]
    bases: np.ndarray  # uint16 [groups]
    offsets: np.ndarray  # uint8 [non-zeros]

    @property
    def groups(self) -> int:
        return int(self.codes.size)

    @property
    def nbytes(self) -> int:
        return int(
            self.row_groups.nbytes
            + self.codes.nbytes
            + self.counts.nbytes
            + self.bases.nbytes
            + self.offsets.nbytes
        )


def encode_grouped(codes: np.ndarray) -> GroupedSparse:
    codes = np.asarray(codes)
    if codes.ndim != 2 or codes.shape[1] > 65536:
        raise ValueError(f"expected a [rows, cols <= 65536] code matrix, got {codes.shape}")
    row_groups, gcodes, counts, bases, offsets = [], [], [], [], []
    for row in codes:
        n_groups = 0
        for c in np.unique(row[row != 0]).tolist():
            cols = np.flatnonzero(row == c)
            i = 0
            while i < cols.size:
                base = int(cols[i])
                # the window holds columns base..base+255; stop also at 255 weights
                j = min(int(np.searchsorted(cols, base + WINDOW)), i + MAX_COUNT)
                gcodes.append(c)
                counts.append(j - i)
                bases.append(base)
                offsets.extend((cols[i:j] - base).tolist())
                n_groups += 1
                i = j
        if n_groups > 255:
            raise ValueError(f"a row needs {n_groups} groups; the format allows 255")
        row_groups.append(n_groups)
    return GroupedSparse(
        np.asarray(row_groups, np.uint8),
        np.asarray(gcodes, np.int8),
        np.asarray(counts, np.uint8),
        np.asarray(bases, np.uint16),
        np.asarray(offsets, np.uint8),
    )


def descriptors(enc: GroupedSparse) -> np.ndarray:
    """One uint32 per group: bits 0-15 base, 16-23 count, 24-31 code (two's complement)."""
    return (
        enc.bases.astype(np.uint32)
        | (enc.counts.astype(np.uint32) << 16)
        | (enc.codes.view(np.uint8).astype(np.uint32) << 24)
    )


def decode_grouped(enc: GroupedSparse, shape: tuple[int, int]) -> np.ndarray:
    out = np.zeros(shape, np.int8)
    g, k = 0, 0
    for r in range(shape[0]):
        for _ in range(int(enc.row_groups[r])):
            n = int(enc.counts[g])
            out[r, int(enc.bases[g]) + enc.offsets[k : k + n].astype(np.int64)] = enc.codes[g]
            g, k = g + 1, k + n
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

"""Weight encodings for microcontrollers (pure numpy, with decoders for the tests).

Sparse (centroid-grouped): a b-bit ECQ layer has only 2^b - 2 non-zero centroids, so
instead of a value per non-zero weight only column positions are stored, grouped by code. The
kernel sums the inputs of a group and multiplies once (acc += code * sum): values cost no bytes
and no multiplies. A group lies in one aligned 256-column window (columns 256 w .. 256 w + 255)
and holds at most 31 weights, so every position is one uint8 offset from the window start, and
the kernel enters a straight run of 31 load-offset, load-input, add steps n steps from its
end: three instructions per non-zero weight, one branch per group, no loop and no escapes to
test. Codes with weights in several windows, or more than 31 of them, take several groups
(the cap costs ~1% more bytes and saves four instructions per group).

- per group, in row order and ascending code: ``codes`` (int8), ``counts`` (uint8, >= 1),
  ``windows`` (uint8, the window index w); ``row_groups[r]`` counts row r's groups. A row
  without non-zero weights gets one placeholder group (code 0, one offset 0), so every row
  ends with a group;
- ``offsets``: per group its weights' ``column - 256 w``, ascending, uint8.

The C header stores one 16-bit word per group (``descriptors``): count | last << 5 |
code << 6 | window << 12, ``last`` marking a row's final group (the window in the top bits
makes the window's address one shift-and-add on Thumb-2). The kernel walks one flat stream
of groups, so it keeps no per-row group counter (and the header no per-row array). Four window
bits address 16 windows: a sparse layer has at most 4,096 columns (MLP_GSC's widest input has
735); wider layers are stored dense. (Until session 14 a descriptor was a 32-bit word with a
free 16-bit base column: two bytes more per group, ~14% of MLP_GSC's sparse bytes, for windows
that start at any column - ~10% fewer groups.)

Sparse by column (``encode_colsparse``): the same groups built over the transposed codes, so a
group is one code's weights in a 256-row window of one input column, plus one word per column
(its offsets | its groups << 16). The kernel takes the inputs one by one and skips a zero one
with two pointer steps; for a live input it adds code * x to the accumulators of each group's
rows (load offset, load, add, store: four instructions per weight). After a ReLU half or more
of a layer's inputs are zero, so this kernel's work follows the live inputs instead of all
weights; before the first layer (dense features) the row form is cheaper.

Dense packed: two's-complement fields of ``storage_bits`` (2, 4 or 8) per weight, row-major.
2- and 4-bit rows start on a 32-bit word and fill whole words: word j holds the next 32 / width
weights, weight k of the word in byte k % 4, bit field k // 4. So one shift and mask bring
four consecutive weights to the top of the four bytes, where the DSP instruction SXTB16
sign-extends them pairwise into the same lanes as four consecutive int8 inputs (see
codegen/kernels/ecqx_fc_dense.c). Not TFLite's INT4 order; the TFLite export packs its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

WINDOW = 256
MAX_WINDOWS = 16  # the descriptor's window field has 4 bits
MAX_SPAN = WINDOW * MAX_WINDOWS  # columns a sparse row (rows a sparse column) can address
MAX_COUNT = 31  # the kernels' unrolled run; the descriptor's count field has 5 bits
# the 16-bit descriptor, as ECQX_GROUP_* in codegen/kernels/ecqx_kernels.h
COUNT_MASK = 0x1F  # bits 0-4: weights in the group, 1..31
LAST_BIT = 5  # the row's final group
CODE_SHIFT = 6  # bits 6-11: six-bit two's-complement code (unsigned 5-bit grids reach 31)
WINDOW_SHIFT = 12  # bits 12-15: window index


@dataclass
class GroupedSparse:
    row_groups: np.ndarray  # uint16 [rows], >= 1 (not stored in C: descriptors mark the last)
    codes: np.ndarray  # int8 [groups]
    counts: np.ndarray  # uint8 [groups]
    windows: np.ndarray  # uint8 [groups]
    offsets: np.ndarray  # uint8 [non-zeros]

    @property
    def groups(self) -> int:
        return int(self.codes.size)

    @property
    def bases(self) -> np.ndarray:
        """First column of each group's window."""
        return self.windows.astype(np.int64) * WINDOW

    @property
    def nbytes(self) -> int:
        """Bytes in the C header: a 16-bit descriptor per group and the offsets."""
        return 2 * self.groups + int(self.offsets.nbytes)


def fits_sparse(cols: int) -> bool:
    """Whether a sparse encoding can address ``cols`` positions (by-row: columns)."""
    return 1 <= cols <= MAX_SPAN


def encode_sparse(codes: np.ndarray) -> GroupedSparse:
    codes = np.asarray(codes)
    if codes.ndim != 2 or not fits_sparse(codes.shape[1]):
        raise ValueError(
            f"sparse weights need a [rows, 1..{MAX_SPAN}] code matrix, got {codes.shape}: "
            f"the descriptors address {MAX_WINDOWS} windows of {WINDOW}; store this layer "
            "dense (--weights dense)"
        )
    # every non-zero weight, plus a placeholder (code 0 at column 0) for each empty row, which
    # adds 0 * x[0] so that every row ends with a group; ordered by row, code, window, column
    r, c = np.nonzero(codes)
    v = codes[r, c].astype(np.int16)
    empty = np.flatnonzero(~codes.any(axis=1))
    r = np.concatenate((r, empty))
    c = np.concatenate((c, np.zeros_like(empty)))
    v = np.concatenate((v, np.zeros(empty.size, np.int16)))
    w = c // WINDOW
    order = np.lexsort((c, w, v, r))
    r, c, v, w = r[order], c[order], v[order], w[order]
    # a group: the weights of one (row, code, window), cut after every MAX_COUNT
    first = np.ones(r.size, bool)
    first[1:] = (r[1:] != r[:-1]) | (v[1:] != v[:-1]) | (w[1:] != w[:-1])
    rank = np.arange(r.size) - np.flatnonzero(first)[np.cumsum(first) - 1]
    heads = np.flatnonzero(first | (rank % MAX_COUNT == 0))
    return GroupedSparse(
        np.bincount(r[heads], minlength=codes.shape[0]).astype(np.uint16),
        v[heads].astype(np.int8),
        np.diff(np.append(heads, r.size)).astype(np.uint8),
        w[heads].astype(np.uint8),
        (c - w * WINDOW).astype(np.uint8),
    )


@dataclass
class ColumnSparse:
    """A layer's weights grouped by input column: ``by_column`` is ``encode_sparse`` of the
    transposed codes (its "rows" are the layer's columns, its windows and offsets rows)."""

    by_column: GroupedSparse

    @property
    def groups(self) -> int:
        return self.by_column.groups

    @property
    def columns(self) -> np.ndarray:
        """uint32 per column: its offsets (bits 0-15) | its groups << 16."""
        g = self.by_column.row_groups.astype(np.int64)
        starts = np.concatenate(([0], np.cumsum(g)[:-1]))
        offsets = np.add.reduceat(self.by_column.counts.astype(np.int64), starts)
        return (offsets | (g << 16)).astype(np.uint32)

    @property
    def nbytes(self) -> int:
        """Bytes in the C header: descriptors, offsets and a 32-bit word per column."""
        return self.by_column.nbytes + 4 * int(self.by_column.row_groups.size)


def encode_colsparse(codes: np.ndarray) -> ColumnSparse:
    codes = np.asarray(codes)
    if codes.ndim != 2 or not fits_sparse(codes.shape[0]):
        raise ValueError(
            f"sparse-by-column weights need a [1..{MAX_SPAN}, cols] code matrix, got "
            f"{codes.shape}: the descriptors address {MAX_WINDOWS} windows of {WINDOW} rows; "
            "store this layer dense (--weights dense)"
        )
    return ColumnSparse(encode_sparse(codes.T))


def decode_colsparse(desc: np.ndarray, offsets: np.ndarray, columns: np.ndarray,
                     shape: tuple[int, int]) -> np.ndarray:  # fmt: skip
    """The code matrix back from the C arrays of the by-column form, stepping through them
    with the column words as the kernel does (a wrong word misplaces every later column)."""
    rows, cols = shape
    if len(columns) != cols:
        raise ValueError(f"{len(columns)} column words for {cols} columns")
    out = np.zeros(shape, np.int8)
    g = k = 0
    for j, word in enumerate(np.asarray(columns, np.uint32).tolist()):
        n_off, n_groups = word & 0xFFFF, word >> 16
        one = decode_descriptors(desc[g : g + n_groups], offsets[k : k + n_off], (1, rows))
        out[:, j] = one[0]
        g, k = g + n_groups, k + n_off
    if g != len(desc) or k != len(offsets):
        raise ValueError(f"column words cover {g} groups and {k} offsets, expected {len(desc)} "
                         f"and {len(offsets)}")  # fmt: skip
    return out


def window_order(codes: np.ndarray) -> np.ndarray:
    """A column order that tends to need fewer aligned 256-column windows: the most used
    columns first, so the columns a row uses gather in the leading windows. For a hidden
    layer's input, the order to give the previous layer's units
    (``ecqx.integer.equivalent.permute_units``); for the by-column form, pass the transposed
    codes (its windows run down the rows)."""
    use = (np.asarray(codes) != 0).sum(axis=0)
    return np.argsort(-use, kind="stable")


def descriptors(enc: GroupedSparse) -> np.ndarray:
    """One uint16 per group: bits 0-4 count (1..31), 5 last group of its row, 6-11 code
    (two's complement), 12-15 window."""
    if enc.codes.size and np.abs(enc.codes.astype(np.int16)).max() > 31:
        raise ValueError("sparse descriptors hold codes of at most 6 bits (|code| <= 31)")
    if enc.counts.size and int(enc.counts.max()) > MAX_COUNT:
        raise ValueError(f"sparse descriptors hold at most {MAX_COUNT} weights per group")
    if enc.windows.size and int(enc.windows.max()) >= MAX_WINDOWS:
        raise ValueError(f"sparse descriptors address at most {MAX_WINDOWS} windows")
    last = np.zeros(enc.groups, np.uint16)
    last[np.cumsum(enc.row_groups.astype(np.int64)) - 1] = 1
    return (
        enc.counts.astype(np.uint16)
        | (last << LAST_BIT)
        | ((enc.codes.astype(np.int64) & 0x3F).astype(np.uint16) << CODE_SHIFT)
        | (enc.windows.astype(np.uint16) << WINDOW_SHIFT)
    ).astype(np.uint16)


def decode_descriptors(desc: np.ndarray, offsets: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The code matrix back from the C arrays, read the way the kernel reads them."""
    out = np.zeros(shape, np.int8)
    r, k = 0, 0
    for d in np.asarray(desc, np.uint16).tolist():
        n, base = d & COUNT_MASK, (d >> WINDOW_SHIFT) * WINDOW
        code = (d >> CODE_SHIFT) & 0x3F
        code = code - 64 if code >= 32 else code
        cols = base + np.asarray(offsets[k : k + n], np.int64)
        if code:
            out[r, cols] = code
        k += n
        r += (d >> LAST_BIT) & 1
    if r != shape[0] or k != len(offsets):
        raise ValueError(f"descriptors cover {r} rows and {k} offsets, expected {shape[0]} and "
                         f"{len(offsets)}")  # fmt: skip
    return out


def storage_bits(bits: int, hi: int = 0) -> int:
    """Field width of the dense packed layout for b-bit codes whose largest code is ``hi``:
    2, 4 or 8 bits of two's complement. A signed b-bit grid always fits the b-derived width;
    an unsigned one (codes 0..2^b - 1) needs the next width up."""
    width = 2 if bits == 2 else 4 if bits <= 4 else 8
    while width < 8 and hi > 2 ** (width - 1) - 1:
        width *= 2
    return width


def _field_index(cols: int, width: int) -> tuple[np.ndarray, np.ndarray, int]:
    """For the packed layout: per weight of a row its byte and bit position, and the row
    stride in bytes. Word j of a row holds weights j*W .. j*W + W - 1 (W = 32 / width); weight
    k of the word sits in byte k % 4, field k // 4."""
    per_word = 32 // width
    words = -(-cols // per_word)
    k = np.arange(cols)
    j, within = k // per_word, k % per_word
    return 4 * j + within % 4, (within // 4) * width, 4 * words


def pack_dense(codes: np.ndarray, bits: int) -> np.ndarray:
    """Rows of ``codes`` as two's-complement fields of ``storage_bits(bits)`` bits; 8-bit rows
    are plain bytes, 2- and 4-bit rows are padded to whole 32-bit words (see the module
    docstring for the order inside a word)."""
    codes = np.asarray(codes, np.int8)
    width = storage_bits(bits, int(codes.max(initial=0)))
    if width == 8:
        return codes.flatten().view(np.uint8).copy()
    rows, cols = codes.shape
    byte, shift, stride = _field_index(cols, width)
    fields = (codes.astype(np.uint8) & ((1 << width) - 1)) << shift.astype(np.uint8)
    out = np.zeros((rows, stride), np.uint8)
    for r in range(rows):
        np.bitwise_or.at(out[r], byte, fields[r])
    return out.flatten()


def unpack_dense(packed: np.ndarray, bits: int, shape: tuple[int, int]) -> np.ndarray:
    width = storage_bits(bits)
    rows, cols = shape
    if width == 8:
        return packed.view(np.int8)[: rows * cols].reshape(shape).copy()
    byte, shift, stride = _field_index(cols, width)
    rowsv = np.asarray(packed, np.uint8).reshape(rows, stride)
    v = ((rowsv[:, byte] >> shift.astype(np.uint8)) & ((1 << width) - 1)).astype(np.int16)
    v[v >= 1 << (width - 1)] -= 1 << width
    return v.astype(np.int8)

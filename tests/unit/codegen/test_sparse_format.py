"""Sparse (centroid-grouped, by row or by column) and dense packed weight encodings round-trip
exactly."""

import dataclasses

import numpy as np
import pytest
from helpers import random_integer_model

from ecqx.codegen.sparse_format import (
    LAST_BIT,
    MAX_COUNT,
    WINDOW,
    decode_colsparse,
    decode_descriptors,
    descriptors,
    encode_colsparse,
    encode_sparse,
    pack_dense,
    storage_bits,
    unpack_dense,
)
from ecqx.integer import IntegerModelError


def test_unsigned_grid_codes_pack_without_wrapping():
    """A layer with no negative weights uses the unsigned grid 0..2^b-1; its dense fields
    must be wide enough (4-bit codes up to 15 need 8-bit two's-complement fields)."""
    from ecqx.codegen.sparse_format import pack_dense, storage_bits, unpack_dense

    codes = np.array([[0, 15, 8, 3], [1, 2, 9, 0]], np.int8)
    assert storage_bits(4, 15) == 8 and storage_bits(4, 7) == 4 and storage_bits(2, 3) == 4
    width = storage_bits(4, int(codes.max()))
    assert np.array_equal(unpack_dense(pack_dense(codes, 4), width, codes.shape), codes)
    model, _ = random_integer_model(seed=11)
    model.layers[0].codes[:] = np.abs(model.layers[0].codes) * 2  # 0..14: unsigned 4-bit
    model.validate()
    model.layers[0].codes[0, 0] = 16
    with pytest.raises(IntegerModelError, match="grid"):
        model.validate()


@pytest.mark.parametrize("bits", [2, 3, 4, 5])
def test_sparse_and_packed_encodings_round_trip(bits):
    rng = np.random.default_rng(bits)
    hi = 2 ** (bits - 1) - 1
    codes = rng.integers(-hi, hi + 1, size=(9, 700)).astype(np.int8)
    codes[rng.random(codes.shape) < 0.97] = 0
    codes[0] = 0
    codes[1, 0] = hi
    codes[2, :300] = 1  # 300 equal codes: split at 31 weights per group
    enc = encode_sparse(codes)
    assert enc.counts.min() >= 1 and enc.counts.max() == MAX_COUNT == 31
    ends = enc.bases.astype(int) + [
        int(enc.offsets[k + n - 1])
        for k, n in zip(
            np.concatenate(([0], np.cumsum(enc.counts.astype(int))[:-1])), enc.counts.astype(int)
        )
    ]
    assert (ends - enc.bases < WINDOW).all()
    # a code spread over 700 columns needs several windows
    assert enc.row_groups[1] > len(set(codes[1][codes[1] != 0].tolist()))
    # the empty row 0 is one placeholder group (code 0, one offset) so every row ends a group
    assert enc.row_groups[0] == 1 and enc.codes[0] == 0 and enc.counts[0] == 1
    assert enc.nbytes == 2 * enc.groups + int((codes != 0).sum()) + 1
    # windows are aligned at multiples of 256 and a group's offsets ascend
    assert (enc.bases % WINDOW == 0).all()
    starts = np.concatenate(([0], np.cumsum(enc.counts.astype(int))[:-1]))
    for k, n in zip(starts, enc.counts.astype(int)):
        assert (np.diff(enc.offsets[k : k + n].astype(int)) > 0).all()
    desc = descriptors(enc)
    assert int(((desc >> LAST_BIT) & 1).sum()) == codes.shape[0]
    assert np.array_equal(decode_descriptors(desc, enc.offsets, codes.shape), codes)
    with pytest.raises(ValueError, match="rows"):
        decode_descriptors(desc[:-1], enc.offsets, codes.shape)
    too_many = dataclasses.replace(enc, counts=enc.counts.copy())
    too_many.counts[0] = MAX_COUNT + 1  # the kernels' 5-bit count field cannot hold it
    with pytest.raises(ValueError, match="at most 31 weights"):
        descriptors(too_many)
    far = dataclasses.replace(enc, windows=enc.windows.copy())
    far.windows[0] = 16  # the 4-bit window field cannot hold it
    with pytest.raises(ValueError, match="16 windows"):
        descriptors(far)
    packed = pack_dense(codes, bits)
    width = storage_bits(bits)
    # 8-bit rows are plain bytes; narrower rows fill whole 32-bit words
    row_bytes = codes.shape[1] if width == 8 else 4 * -(-codes.shape[1] * width // 32)
    assert packed.size == codes.shape[0] * row_bytes
    assert np.array_equal(unpack_dense(packed, bits, codes.shape), codes)


def test_by_column_encoding_round_trips_and_its_column_words_step_over_each_column():
    """The by-column form: the row encoding of the transposed codes plus one word per column
    (offsets | groups << 16), which the kernel uses to skip a zero input; a wrong word shifts
    every later column, so the decoder (reading as the kernel does) rejects it."""
    rng = np.random.default_rng(3)
    codes = rng.integers(-7, 8, size=(300, 11)).astype(np.int8)
    codes[rng.random(codes.shape) < 0.8] = 0
    codes[:, 4] = 0  # an unused input: one placeholder group
    codes[:280, 6] = 2  # 280 equal codes down one column: 10 groups of at most 31
    enc = encode_colsparse(codes)
    words = enc.columns
    nnz = (codes != 0).sum(axis=0)
    assert np.array_equal(words & 0xFFFF, np.where(nnz == 0, 1, nnz))
    assert (words >> 16)[4] == 1 and (words >> 16)[6] >= 10
    assert enc.nbytes == 2 * enc.groups + enc.by_column.offsets.size + 4 * codes.shape[1]
    desc = descriptors(enc.by_column)
    assert np.array_equal(decode_colsparse(desc, enc.by_column.offsets, words, codes.shape), codes)
    bad = words.copy()
    bad[2] += 1  # one offset too many for column 2
    with pytest.raises(ValueError):
        decode_colsparse(desc, enc.by_column.offsets, bad, codes.shape)
    with pytest.raises(ValueError, match="4096.*dense"):
        encode_colsparse(np.zeros((4097, 2), np.int8))

/* Fully-connected int8 kernels of ecqx: one file per kernel, no allocation, int32
 * accumulation, requantization as in ecqx_requant.h. */
#ifndef ECQX_KERNELS_H
#define ECQX_KERNELS_H

#include <stdint.h>

/* Requantization parameters shared by the kernels. */
typedef struct {
    int32_t multiplier;
    int32_t shift;
    int32_t out_min; /* 0 after a ReLU, -128 otherwise */
} ecqx_requant_t;

/* Sparse (centroid-grouped) weights (codegen/sparse_format.py): the groups of all rows in row
 * order; a group is one code, an aligned 256-column window w and uint8 offsets from its first
 * column 256 w, described by one 16-bit word: bits 0-4 count (1..31), 5 last group of its
 * row, 6-11 the code (two's complement, |code| <= 31), 12-15 w. Every row has at least one
 * group. Ranges: rows >= 1; columns (256 w + offset) < 4096. */
typedef struct {
    const uint16_t *groups; /* packed descriptors */
    const uint8_t *offsets; /* [non-zeros] column - 256 w */
} ecqx_sparse_t;

#define ECQX_GROUP_COUNT_MASK 0x1Fu
#define ECQX_GROUP_LAST (1u << 5)
#define ECQX_GROUP_WINDOW_SHIFT 12
#define ECQX_GROUP_WINDOW_LOG2 8 /* 256 columns (rows) per window */

/* The fields of descriptor d (a uint32_t holding the 16-bit word): the window's first column
 * (row), the weight count and the code (bits 6-11 moved to the top, shifted back with sign). */
#define ECQX_GROUP_BASE(d) (((d) >> ECQX_GROUP_WINDOW_SHIFT) << ECQX_GROUP_WINDOW_LOG2)
#define ECQX_GROUP_COUNT(d) ((d) & ECQX_GROUP_COUNT_MASK)
#define ECQX_GROUP_CODE(d) ((int32_t)((d) << 20) >> 26)

/* acc: caller-supplied scratch for the layer's int32 accumulators, at least `rows` entries.
 * multiplier in [2^30, 2^31) or 0, shift in [-31, 30], out_min 0 or -128. */
void ecqx_fc_sparse(const int8_t *x, int8_t *y, int32_t rows, const ecqx_sparse_t *w,
                     const int32_t *bias, ecqx_requant_t rq, int32_t *acc);

/* Sparse weights by input column (codegen/sparse_format.py): the groups of all columns in
 * column order, each one code in an aligned 256-row window (descriptor as above, its window
 * over rows), and per column one word: its offsets (bits 0-15) | its groups << 16.
 * Ranges: 1 <= rows <= 4096; cols >= 1. */
typedef struct {
    const uint16_t *groups;  /* packed descriptors */
    const uint8_t *offsets;  /* [non-zeros] row - base */
    const uint32_t *columns; /* [cols] offsets | groups << 16 */
} ecqx_colsparse_t;

/* Skips zero inputs: its work follows the non-zero inputs times their weights, so it suits a
 * layer behind a ReLU. acc: caller-supplied scratch of at least `rows` int32; requantization
 * ranges as ecqx_fc_sparse. */
void ecqx_fc_colsparse(const int8_t *x, int8_t *y, int32_t rows, int32_t cols,
                       const ecqx_colsparse_t *w, const int32_t *bias, ecqx_requant_t rq,
                       int32_t *acc);

/* Dense weights in 2-, 4- or 8-bit two's-complement fields (storage_bits in {2, 4, 8}).
 * 8-bit rows are plain bytes; 2- and 4-bit rows start on a 32-bit word and fill whole words,
 * weight k of a word in byte k % 4, bit field k / 4 (see codegen/sparse_format.py), so one
 * shift and mask plus SXTB16 line four weights up with four inputs. 1 <= cols <= 65535. */
void ecqx_fc_dense(const int8_t *x, int8_t *y, int32_t rows, int32_t cols, int32_t storage_bits,
                   const uint8_t *weights, const int32_t *bias, ecqx_requant_t rq);

#endif /* ECQX_KERNELS_H */

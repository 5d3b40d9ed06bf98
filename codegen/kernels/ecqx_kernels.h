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

/* Centroid-grouped sparse weights (export/sparse_format.py): the groups of all rows in row
 * order; a group is one code, a window base column and uint8 offsets from it, described by
 * one word: bits 0-15 base column, 16-23 count (>= 1), 24 last group of its row, 26-31 the
 * code (two's complement). Every row has at least one group. */
typedef struct {
    const uint32_t *groups; /* packed descriptors */
    const uint8_t *offsets; /* [non-zeros] column - base */
} ecqx_grouped_t;

#define ECQX_GROUP_LAST (1u << 24)
#define ECQX_GROUP_CODE_SHIFT 26

/* acc: scratch for the layer's int32 accumulators, at least `rows` entries. */
void ecqx_fc_grouped(const int8_t *x, int8_t *y, int32_t rows, const ecqx_grouped_t *w,
                     const int32_t *bias, ecqx_requant_t rq, int32_t *acc);

/* Dense weights packed in 2-, 4- or 8-bit two's-complement fields, row-major, first
 * weight in the low bits of a byte. */
void ecqx_fc_dense(const int8_t *x, int8_t *y, int32_t rows, int32_t cols, int32_t storage_bits,
                   const uint8_t *weights, const int32_t *bias, ecqx_requant_t rq);

#endif /* ECQX_KERNELS_H */

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

/* Centroid-grouped sparse weights (export/sparse_format.py): per row its groups; a group is
 * one non-zero code, a window base column and uint8 offsets from it, described by one word:
 * bits 0-15 base column, 16-23 count (>= 1), 24-31 the code (two's complement). */
typedef struct {
    const uint8_t *row_groups; /* [rows] groups per row */
    const uint32_t *groups;    /* [groups] packed descriptors */
    const uint8_t *offsets;    /* [non-zeros] column - base */
} ecqx_grouped_t;

void ecqx_fc_grouped(const int8_t *x, int8_t *y, int32_t rows, const ecqx_grouped_t *w,
                     const int32_t *bias, ecqx_requant_t rq);

/* Dense weights packed in 2-, 4- or 8-bit two's-complement fields, row-major, first
 * weight in the low bits of a byte. */
void ecqx_fc_dense(const int8_t *x, int8_t *y, int32_t rows, int32_t cols, int32_t storage_bits,
                   const uint8_t *weights, const int32_t *bias, ecqx_requant_t rq);

#endif /* ECQX_KERNELS_H */

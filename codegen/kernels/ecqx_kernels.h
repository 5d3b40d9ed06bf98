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

/* Centroid-grouped CSR (export/sparse_format.py): per row and non-zero code, the gaps
 * between the columns holding that code; inputs of a group are summed, then multiplied
 * once by the code. counts are uint8 (counts16 == NULL) or uint16 (counts8 == NULL). */
void ecqx_fc_cgcsr(const int8_t *x, int8_t *y, int32_t rows, int32_t groups,
                   const int8_t *group_codes, const uint8_t *counts8, const uint16_t *counts16,
                   const uint8_t *deltas, const int32_t *bias, ecqx_requant_t rq);

/* Dense weights packed in 2-, 4- or 8-bit two's-complement fields, row-major, first
 * weight in the low bits of a byte. */
void ecqx_fc_dense(const int8_t *x, int8_t *y, int32_t rows, int32_t cols, int32_t storage_bits,
                   const uint8_t *weights, const int32_t *bias, ecqx_requant_t rq);

#endif /* ECQX_KERNELS_H */

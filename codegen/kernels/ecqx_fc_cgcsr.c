/* Sparse fully-connected kernel on centroid-grouped CSR weights. Per stored byte: one
 * load of the gap, one load of the input, one add; one multiply per (row, code) group,
 * and no weight values at all. */
#include "ecqx_kernels.h"
#include "ecqx_model_data.h" /* ECQX_SINGLE_ROUNDING */
#include "ecqx_requant.h"

#define ECQX_ESCAPE_GAP 255

void ecqx_fc_cgcsr(const int8_t *x, int8_t *y, int32_t rows, int32_t groups,
                   const int8_t *group_codes, const uint8_t *counts8, const uint16_t *counts16,
                   const uint8_t *deltas, const int32_t *bias, ecqx_requant_t rq)
{
    for (int32_t r = 0; r < rows; r++) {
        int32_t acc = bias[r];
        for (int32_t g = 0; g < groups; g++) {
            uint32_t n = counts8 ? *counts8++ : *counts16++;
            int32_t col = -1;
            int32_t sum = 0;
            while (n--) {
                const uint32_t d = *deltas++;
                if (d == 0u) { /* escape: a gap longer than 255 columns */
                    col += ECQX_ESCAPE_GAP;
                    continue;
                }
                col += (int32_t)d;
                sum += x[col];
            }
            acc += (int32_t)group_codes[g] * sum;
        }
        y[r] = ecqx_requantize(acc, rq.multiplier, rq.shift, rq.out_min);
    }
}

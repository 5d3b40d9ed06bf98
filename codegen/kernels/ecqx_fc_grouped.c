/* Sparse fully-connected kernel on centroid-grouped weights (export/sparse_format.py).
 * A group is one code's weights inside a 256-column window of a row: per weight the kernel
 * loads a uint8 offset, loads the input at base + offset and adds it (three instructions on
 * Cortex-M), then multiplies the group's sum by its code once. No weight values, no escapes,
 * no per-weight branches. */
#include "ecqx_kernels.h"
#include "ecqx_model_data.h" /* ECQX_SINGLE_ROUNDING */
#include "ecqx_requant.h"

#define ECQX_ADD4(s, xb, p, k) \
    ((s) += (xb)[(p)[(k)]] + (xb)[(p)[(k) + 1]] + (xb)[(p)[(k) + 2]] + (xb)[(p)[(k) + 3]])

/* Sum of xb[offsets[0..n-1]]; n >= 1. The remainder is peeled first (1, 2, 4, 8) so the
 * main loop runs sixteen loads per iteration with one compare. */
static inline int32_t ecqx_group_sum(const int8_t *xb, const uint8_t *p, uint32_t n)
{
    const uint8_t *const end = p + n;
    int32_t s = 0;
    if (n & 1u) {
        s += xb[p[0]];
        p += 1;
    }
    if (n & 2u) {
        s += xb[p[0]] + xb[p[1]];
        p += 2;
    }
    if (n & 4u) {
        ECQX_ADD4(s, xb, p, 0);
        p += 4;
    }
    if (n & 8u) {
        ECQX_ADD4(s, xb, p, 0);
        ECQX_ADD4(s, xb, p, 4);
        p += 8;
    }
    while (p != end) {
        ECQX_ADD4(s, xb, p, 0);
        ECQX_ADD4(s, xb, p, 4);
        ECQX_ADD4(s, xb, p, 8);
        ECQX_ADD4(s, xb, p, 12);
        p += 16;
    }
    return s;
}

void ecqx_fc_grouped(const int8_t *x, int8_t *y, int32_t rows, const ecqx_grouped_t *w,
                     const int32_t *bias, ecqx_requant_t rq)
{
    const uint32_t *group = w->groups;
    const uint8_t *offsets = w->offsets;
    for (int32_t r = 0; r < rows; r++) {
        int32_t acc = bias[r];
        for (uint32_t g = w->row_groups[r]; g > 0u; g--) {
            /* one word per group keeps a single pointer live instead of three */
            const uint32_t d = *group++;
            const uint32_t n = (d >> 16) & 0xFFu;
            acc += ((int32_t)d >> 24) * ecqx_group_sum(x + (d & 0xFFFFu), offsets, n);
            offsets += n;
        }
        y[r] = ecqx_requantize(acc, rq.multiplier, rq.shift, rq.out_min);
    }
}

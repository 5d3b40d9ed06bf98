/* Sparse fully-connected kernel on centroid-grouped weights (export/sparse_format.py).
 * A group is one code's weights inside a 256-column window of a row: per weight the kernel
 * loads a uint8 offset, loads the input at base + offset and adds it (three instructions on
 * Cortex-M), then multiplies the group's sum by its code once. No weight values, no escapes,
 * no per-weight branches. */
#include "ecqx_kernels.h"
#include "ecqx_model_data.h" /* ECQX_SINGLE_ROUNDING */
#include "ecqx_requant.h"

#if defined(__GNUC__) && __GNUC__ >= 7
#define ECQX_FALLTHROUGH __attribute__((fallthrough))
#else
#define ECQX_FALLTHROUGH ((void)0)
#endif

/* One gather-add, then the next entry point of the unrolled block. */
#define ECQX_TAKE(k)  \
    s += xb[*p++];    \
    ECQX_FALLTHROUGH; \
    case k:

/* Sum of xb[p[0..n-1]], n >= 1; *pp advances past the n offsets. Duff's device: the first
 * pass enters the sixteen-way block at n % 16, so a group of any size pays one computed branch
 * instead of a test per remainder bit (groups average ~30 weights, so that entry cost is paid
 * often). Sequential adds into one register and a pointer compare per block: three
 * instructions per weight plus two per sixteen. */
static inline int32_t ecqx_group_sum(const int8_t *xb, const uint8_t **pp, uint32_t n)
{
    const uint8_t *p = *pp;
    const uint8_t *const end = p + n;
    int32_t s = 0;
    switch (n & 15u) {
    case 0:
        do {
            ECQX_TAKE(15)
            ECQX_TAKE(14)
            ECQX_TAKE(13)
            ECQX_TAKE(12)
            ECQX_TAKE(11)
            ECQX_TAKE(10)
            ECQX_TAKE(9)
            ECQX_TAKE(8)
            ECQX_TAKE(7)
            ECQX_TAKE(6)
            ECQX_TAKE(5)
            ECQX_TAKE(4)
            ECQX_TAKE(3)
            ECQX_TAKE(2)
            ECQX_TAKE(1)
            s += xb[*p++];
        } while (p != end);
    }
    *pp = p;
    return s;
}

void ecqx_fc_grouped(const int8_t *x, int8_t *y, int32_t rows, const ecqx_grouped_t *w,
                     const int32_t *bias, ecqx_requant_t rq)
{
    const uint8_t *row_groups = w->row_groups;
    const uint32_t *group = w->groups;
    const uint8_t *offsets = w->offsets;
    for (int32_t r = 0; r < rows; r++) {
        int32_t acc = bias[r];
        for (uint32_t g = row_groups[r]; g > 0u; g--) {
            /* one word per group keeps a single pointer live instead of three */
            const uint32_t d = *group++;
            acc += ((int32_t)d >> 24) * ecqx_group_sum(x + (d & 0xFFFFu), &offsets, (d >> 16) & 0xFFu);
        }
        y[r] = ecqx_requantize(acc, rq.multiplier, rq.shift, rq.out_min);
    }
}

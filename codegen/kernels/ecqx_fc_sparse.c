/* Sparse fully-connected kernel on centroid-grouped weights (codegen/sparse_format.py).
 * A group is one code's weights inside an aligned 256-column window of a row: per weight the
 * kernel loads a uint8 offset, loads the input at base + offset and adds it (three
 * instructions on Thumb-2 cores, about one per weight with Helium gathers), then multiplies
 * the group's sum by its code once. No weight values, no escapes, no per-weight branches. The
 * group sum has three implementations below (Thumb-2 assembly, portable C, and Helium for
 * long groups); all compute the same integers, and the tests run each one. */
#include "ecqx_arch.h"
#include "ecqx_kernels.h"
#include "ecqx_requant.h"

/* Sum of xb[p[0..n-1]], 1 <= n <= 31; *pp advances past the n offsets. The straight run
 * (Thumb-2 assembly or portable C), then on Helium cores the vector path for long groups. */
#if ECQX_USE_THUMB2
/* Thumb-2 (Cortex-M3/M4/M7/M33/M55): the same computation as the C version below,
 * written out because the compiler brackets every switch with a range check and a stub per
 * case. Here a group costs one TBB into a straight run of 31 gather-adds, entered n from its
 * end (groups hold at most 31 weights, so there is no loop and no end test). Each gather-add
 * is exactly 10 bytes (ldrb.w 4, ldrsb.w 4, add 2), so the table entry for n weights is
 * computed from the run's start. */
#define ECQX_GATHER "ldrb.w %[t], [%[p]], #1\n\tldrsb.w %[t], [%[xb], %[t]]\n\tadd %[s], %[t]\n\t"
#define ECQX_GATHER4 ECQX_GATHER ECQX_GATHER ECQX_GATHER ECQX_GATHER
#define ECQX_GATHER16 ECQX_GATHER4 ECQX_GATHER4 ECQX_GATHER4 ECQX_GATHER4
#define ECQX_ENTRY(k) ".byte ((2f - 1b) + (31 - " #k ") * 10) / 2\n\t"

static inline int32_t ecqx_group_run(const int8_t *xb, const uint8_t **pp, uint32_t n)
{
    const uint8_t *p = *pp;
    int32_t s = 0;
    int32_t t;
    __asm__("tbb [pc, %[n]]\n"
            "1:\n\t"
            /* entries for n = 0..31 weights (0 never occurs: it would skip the whole run) */
            ECQX_ENTRY(0) ECQX_ENTRY(1) ECQX_ENTRY(2) ECQX_ENTRY(3)
            ECQX_ENTRY(4) ECQX_ENTRY(5) ECQX_ENTRY(6) ECQX_ENTRY(7)
            ECQX_ENTRY(8) ECQX_ENTRY(9) ECQX_ENTRY(10) ECQX_ENTRY(11)
            ECQX_ENTRY(12) ECQX_ENTRY(13) ECQX_ENTRY(14) ECQX_ENTRY(15)
            ECQX_ENTRY(16) ECQX_ENTRY(17) ECQX_ENTRY(18) ECQX_ENTRY(19)
            ECQX_ENTRY(20) ECQX_ENTRY(21) ECQX_ENTRY(22) ECQX_ENTRY(23)
            ECQX_ENTRY(24) ECQX_ENTRY(25) ECQX_ENTRY(26) ECQX_ENTRY(27)
            ECQX_ENTRY(28) ECQX_ENTRY(29) ECQX_ENTRY(30) ECQX_ENTRY(31)
            "\n2:\n\t"
            ECQX_GATHER16 ECQX_GATHER4 ECQX_GATHER4 ECQX_GATHER4 ECQX_GATHER ECQX_GATHER ECQX_GATHER
            : [p] "+r"(p), [s] "+r"(s), [t] "=&r"(t)
            : [xb] "r"(xb), [n] "r"(n)
            : "cc", "memory");
    *pp = p;
    return s;
}
#else
/* One gather-add, entered at `case k` with k weights to go. */
#define ECQX_TAKE(k)   \
    case k:            \
        s += xb[*p++]; \
        ECQX_FALLTHROUGH;

/* Portable C (other cores, the host tests): a switch into 31 gather-adds, entered n from
 * the end, so a group pays one computed branch and no loop test; sequential adds into one
 * register. */
static inline int32_t ecqx_group_run(const int8_t *xb, const uint8_t **pp, uint32_t n)
{
    const uint8_t *p = *pp;
    int32_t s = 0;
    switch (n) {
        ECQX_STEPS_31_TO_1(ECQX_TAKE)
    default:
        break;
    }
    *pp = p;
    return s;
}
#endif

#if ECQX_USE_MVE
#include <arm_mve.h>
/* Helium (Cortex-M55), for groups of ECQX_MVE_MIN_GROUP weights or more: four offsets
 * widened to 32-bit lanes, a gather of the four inputs and an add across the vector; the
 * last, partial quad under a tail predicate, which also keeps its loads inside the offsets
 * array. (Predicating every quad costs GCC 12 a VPR move and a
 * VPST per instruction.) */
static inline int32_t ecqx_group_sum(const int8_t *xb, const uint8_t **pp, uint32_t n)
{
    if (n < ECQX_MVE_MIN_GROUP) {
        return ecqx_group_run(xb, pp, n);
    }
    const uint8_t *p = *pp;
    const uint8_t *const end = p + n;
    int32_t s = 0;
    for (uint32_t quads = n / 4u; quads > 0u; quads--, p += 4) {
        s = vaddvaq_s32(s, vldrbq_gather_offset_s32(xb, vldrbq_u32(p)));
    }
    if (p != end) {
        const mve_pred16_t live = vctp32q((uint32_t)(end - p));
        const uint32x4_t off = vldrbq_z_u32(p, live);
        s = vaddvaq_p_s32(s, vldrbq_gather_offset_z_s32(xb, off, live), live);
    }
    *pp = end;
    return s;
}
#else
#define ecqx_group_sum ecqx_group_run
#endif

/* Two passes: bias plus group sums of every row into `acc`, then requantization per row.
 * Split this way the group loop holds only its own pointers in registers and the
 * requantization constants stay in registers for the whole second loop. */
void ecqx_fc_sparse(const int8_t *x, int8_t *y, int32_t rows, const ecqx_sparse_t *w,
                     const int32_t *bias, ecqx_requant_t rq, int32_t *acc)
{
    const uint16_t *group = w->groups;
    const uint8_t *offsets = w->offsets;
    for (int32_t r = 0; r < rows; r++) {
        int32_t sum = bias[r];
        uint32_t d;
        do {
            d = *group++;
            sum += ECQX_GROUP_CODE(d) *
                   ecqx_group_sum(x + ECQX_GROUP_BASE(d), &offsets, ECQX_GROUP_COUNT(d));
        } while ((d & ECQX_GROUP_LAST) == 0u);
        acc[r] = sum;
    }
    ecqx_requantize_rows(acc, y, rows, rq);
}

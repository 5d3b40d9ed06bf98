/* Sparse fully-connected kernel on weights grouped by input column
 * (codegen/sparse_format.py, "sparse by column"). It takes the inputs one at a time: a zero
 * input costs a test and two pointer steps, and for a live one every group of its column (one
 * code in a 256-row window) adds code * x to its rows' accumulators. Behind a ReLU, where
 * half or more of the inputs are zero, this does less work than the row kernel
 * (ecqx_fc_sparse.c), which reads every weight. A group's rows are distinct, so its
 * scatter-adds never touch one accumulator twice (which the Helium path relies on). The
 * scatter-add has three implementations below (Thumb-2 assembly, portable C, and Helium for
 * long groups); all compute the same integers, and the tests run each one. */
#include "ecqx_arch.h"
#include "ecqx_kernels.h"
#include "ecqx_requant.h"

/* acc[p[k]] += v for k < n, 1 <= n <= 31; *pp advances past the n offsets. The straight
 * run (Thumb-2 assembly or portable C), then on Helium cores the vector path for long groups. */
#if ECQX_USE_THUMB2
/* Thumb-2: as in ecqx_fc_sparse.c, one TBB into a straight run of 31 scatter-adds, entered
 * n from its end. Each scatter-add is exactly 14 bytes (ldrb.w 4, ldr.w 4, add 2, str.w 4),
 * so the table entry for n weights is computed from the run's start. */
#define ECQX_SCATTER                                                                          \
    "ldrb.w %[t], [%[p]], #1\n\t"                                                             \
    "ldr.w %[a], [%[acc], %[t], lsl #2]\n\t"                                                  \
    "add %[a], %[v]\n\t"                                                                      \
    "str.w %[a], [%[acc], %[t], lsl #2]\n\t"
#define ECQX_SCATTER4 ECQX_SCATTER ECQX_SCATTER ECQX_SCATTER ECQX_SCATTER
#define ECQX_SCATTER16 ECQX_SCATTER4 ECQX_SCATTER4 ECQX_SCATTER4 ECQX_SCATTER4
#define ECQX_SCATTER_ENTRY(k) ".byte ((2f - 1b) + (31 - " #k ") * 14) / 2\n\t"

static inline void ecqx_scatter_run(int32_t *acc, const uint8_t **pp, uint32_t n, int32_t v)
{
    const uint8_t *p = *pp;
    int32_t t;
    int32_t a;
    /* volatile: its only effect the caller sees is on memory (the accumulators), so without
     * it the compiler may drop the statement once the advanced pointer goes unused */
    __asm__ volatile("tbb [pc, %[n]]\n"
            "1:\n\t"
            ECQX_SCATTER_ENTRY(0) ECQX_SCATTER_ENTRY(1) ECQX_SCATTER_ENTRY(2)
            ECQX_SCATTER_ENTRY(3) ECQX_SCATTER_ENTRY(4) ECQX_SCATTER_ENTRY(5)
            ECQX_SCATTER_ENTRY(6) ECQX_SCATTER_ENTRY(7) ECQX_SCATTER_ENTRY(8)
            ECQX_SCATTER_ENTRY(9) ECQX_SCATTER_ENTRY(10) ECQX_SCATTER_ENTRY(11)
            ECQX_SCATTER_ENTRY(12) ECQX_SCATTER_ENTRY(13) ECQX_SCATTER_ENTRY(14)
            ECQX_SCATTER_ENTRY(15) ECQX_SCATTER_ENTRY(16) ECQX_SCATTER_ENTRY(17)
            ECQX_SCATTER_ENTRY(18) ECQX_SCATTER_ENTRY(19) ECQX_SCATTER_ENTRY(20)
            ECQX_SCATTER_ENTRY(21) ECQX_SCATTER_ENTRY(22) ECQX_SCATTER_ENTRY(23)
            ECQX_SCATTER_ENTRY(24) ECQX_SCATTER_ENTRY(25) ECQX_SCATTER_ENTRY(26)
            ECQX_SCATTER_ENTRY(27) ECQX_SCATTER_ENTRY(28) ECQX_SCATTER_ENTRY(29)
            ECQX_SCATTER_ENTRY(30) ECQX_SCATTER_ENTRY(31)
            "\n2:\n\t"
            ECQX_SCATTER16 ECQX_SCATTER4 ECQX_SCATTER4 ECQX_SCATTER4 ECQX_SCATTER ECQX_SCATTER
            ECQX_SCATTER
            : [p] "+r"(p), [t] "=&r"(t), [a] "=&r"(a)
            : [acc] "r"(acc), [v] "r"(v), [n] "r"(n)
            : "cc", "memory");
    *pp = p;
}
#else
/* One scatter-add, entered at `case k` with k weights to go. */
#define ECQX_PUT(k)     \
    case k:             \
        acc[*p++] += v; \
        ECQX_FALLTHROUGH;

/* Portable C (other cores, the host tests): a switch into 31 scatter-adds, as the row
 * kernel's group sum. */
static inline void ecqx_scatter_run(int32_t *acc, const uint8_t **pp, uint32_t n, int32_t v)
{
    const uint8_t *p = *pp;
    switch (n) {
        ECQX_STEPS_31_TO_1(ECQX_PUT)
    default:
        break;
    }
    *pp = p;
}
#endif

#if ECQX_USE_MVE
#include <arm_mve.h>
/* Helium (Cortex-M55), for groups of ECQX_MVE_MIN_GROUP weights or more: four offsets
 * widened to 32-bit lanes, a gather of the four accumulators, an add and a scatter back;
 * the last, partial quad under a tail predicate. */
static inline void ecqx_scatter_add(int32_t *acc, const uint8_t **pp, uint32_t n, int32_t v)
{
    if (n < ECQX_MVE_MIN_GROUP) {
        ecqx_scatter_run(acc, pp, n, v);
        return;
    }
    const uint8_t *p = *pp;
    const uint8_t *const end = p + n;
    for (uint32_t quads = n / 4u; quads > 0u; quads--, p += 4) {
        const uint32x4_t off = vldrbq_u32(p);
        const int32x4_t a = vldrwq_gather_shifted_offset_s32(acc, off);
        vstrwq_scatter_shifted_offset_s32(acc, off, vaddq_n_s32(a, v));
    }
    if (p != end) {
        const mve_pred16_t live = vctp32q((uint32_t)(end - p));
        const uint32x4_t off = vldrbq_z_u32(p, live);
        const int32x4_t a = vldrwq_gather_shifted_offset_z_s32(acc, off, live);
        vstrwq_scatter_shifted_offset_p_s32(acc, off, vaddq_n_s32(a, v), live);
    }
    *pp = end;
}
#else
#define ecqx_scatter_add ecqx_scatter_run
#endif

/* Bias into `acc`, the live inputs' groups scattered onto it, then requantization per row. */
void ecqx_fc_colsparse(const int8_t *x, int8_t *y, int32_t rows, int32_t cols,
                       const ecqx_colsparse_t *w, const int32_t *bias, ecqx_requant_t rq,
                       int32_t *acc)
{
    for (int32_t r = 0; r < rows; r++) {
        acc[r] = bias[r];
    }
    const uint16_t *group = w->groups;
    const uint8_t *offsets = w->offsets;
    for (int32_t j = 0; j < cols; j++) {
        const uint32_t column = w->columns[j];
        const uint16_t *const last = group + (column >> 16);
        const int32_t xj = x[j];
        if (xj == 0) {
            group = last;
            offsets += column & 0xFFFFu;
            continue;
        }
        for (; group != last; group++) {
            const uint32_t d = *group;
            ecqx_scatter_add(acc + ECQX_GROUP_BASE(d), &offsets, ECQX_GROUP_COUNT(d),
                             ECQX_GROUP_CODE(d) * xj);
        }
    }
    ecqx_requantize_rows(acc, y, rows, rq);
}

/* Dense fully-connected kernel on packed 2/4/8-bit weights (layout in codegen/sparse_format.py).
 * On cores with the DSP extension every width runs on the dual 16-bit multiply-accumulate
 * (SMLAD) over pairs that SXTB16 sign-extends; cores without it (Cortex-M0/M3) take the
 * portable C loops, which compute the same integers. */
#include "ecqx_arch.h"
#include "ecqx_kernels.h"
#include "ecqx_requant.h"

#if ECQX_USE_DSP
static inline uint32_t ecqx_read_u32(const void *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, sizeof v); /* unaligned-safe, one LDR on Cortex-M4/M7 */
    return v;
}
static inline uint32_t ecqx_sxtb16(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(v));
    return r;
}
static inline uint32_t ecqx_sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}
static inline int32_t ecqx_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}
#endif

/* Weight k of a packed row: word k / W, byte k % 4, field (k % W) / 4 (W = 32 / bits);
 * 8-bit rows are plain bytes. */
static inline int32_t ecqx_field(const uint8_t *row, int32_t k, int32_t bits)
{
    if (bits == 8) {
        return ((const int8_t *)row)[k];
    }
    const int32_t per_word = 32 / bits;
    const int32_t within = k % per_word;
    const uint32_t byte = row[4 * (k / per_word) + within % 4];
    const uint32_t v = (byte >> ((within / 4) * bits)) & ((1u << bits) - 1u);
    return (int32_t)(v ^ (1u << (bits - 1))) - (int32_t)(1u << (bits - 1)); /* sign-extend */
}

#if ECQX_USE_DSP
/* Two rows against the same inputs, `words` 32-bit words of each. Per field of a word, one
 * shift and mask put four weights at the top bits of the four bytes; SXTB16 pairs bytes 0/2
 * and 1/3 of weights and of four consecutive inputs alike, so two SMLADs take four weights.
 * The inputs are unpacked once for both rows. Weights narrower than 8 bits come out scaled by
 * 2^(8 - bits); the sums are divided back exactly at the end. */
static inline void ecqx_dot2(const int8_t *x, const uint8_t *r0, const uint8_t *r1,
                             int32_t words, uint32_t bits, int32_t *acc0, int32_t *acc1)
{
    const uint32_t fields = 8u / bits;
    const uint32_t mask = 0x01010101u * ((0x100u - (1u << (8u - bits))) & 0xFFu);
    int32_t s0 = 0;
    int32_t s1 = 0;
    for (int32_t j = 0; j < words; j++) {
        const uint32_t w0 = ecqx_read_u32(r0 + 4 * j);
        const uint32_t w1 = ecqx_read_u32(r1 + 4 * j);
#if defined(__GNUC__) && __GNUC__ >= 8
#pragma GCC unroll 4 /* constant shifts fold into AND's shifted operand */
#endif
        for (uint32_t f = 0; f < fields; f++) {
            const uint32_t xv = ecqx_read_u32(x + 4 * ((uint32_t)j * fields + f));
            const uint32_t xe = ecqx_sxtb16(xv);
            const uint32_t xo = ecqx_sxtb16_ror8(xv);
            const uint32_t sh = 8u - bits * (f + 1u);
            const uint32_t t0 = (w0 << sh) & mask;
            const uint32_t t1 = (w1 << sh) & mask;
            s0 = ecqx_smlad(xe, ecqx_sxtb16(t0), s0);
            s0 = ecqx_smlad(xo, ecqx_sxtb16_ror8(t0), s0);
            s1 = ecqx_smlad(xe, ecqx_sxtb16(t1), s1);
            s1 = ecqx_smlad(xo, ecqx_sxtb16_ror8(t1), s1);
        }
    }
    *acc0 += s0 / (int32_t)(1u << (8u - bits)); /* exact: every product carried the factor */
    *acc1 += s1 / (int32_t)(1u << (8u - bits));
}
#endif

void ecqx_fc_dense(const int8_t *x, int8_t *y, int32_t rows, int32_t cols, int32_t storage_bits,
                   const uint8_t *weights, const int32_t *bias, ecqx_requant_t rq)
{
    /* bytes per row: 2/4-bit rows fill whole 32-bit words */
    const int32_t stride = storage_bits == 8 ? cols : 4 * ((cols * storage_bits + 31) / 32);
    const int32_t per_word = 32 / storage_bits;
    const int32_t words = ECQX_USE_DSP ? cols / per_word : 0;
    for (int32_t r = 0; r < rows; r += 2) {
        const uint8_t *r0 = weights + r * stride;
        const uint8_t *r1 = r + 1 < rows ? r0 + stride : r0; /* odd last row: computed twice */
        int32_t acc0 = bias[r];
        int32_t acc1 = r + 1 < rows ? bias[r + 1] : 0;
#if ECQX_USE_DSP
        /* constant widths, so each call is specialised with its fields unrolled */
        if (storage_bits == 8) {
            ecqx_dot2(x, r0, r1, words, 8u, &acc0, &acc1);
        } else if (storage_bits == 4) {
            ecqx_dot2(x, r0, r1, words, 4u, &acc0, &acc1);
        } else {
            ecqx_dot2(x, r0, r1, words, 2u, &acc0, &acc1);
        }
#endif
        for (int32_t k = words * per_word; k < cols; k++) {
            acc0 += (int32_t)x[k] * ecqx_field(r0, k, storage_bits);
            acc1 += (int32_t)x[k] * ecqx_field(r1, k, storage_bits);
        }
        y[r] = ecqx_requantize(acc0, rq.multiplier, rq.shift, rq.out_min);
        if (r + 1 < rows) {
            y[r + 1] = ecqx_requantize(acc1, rq.multiplier, rq.shift, rq.out_min);
        }
    }
}

/* Dense fully-connected kernel on packed 2/4/8-bit weights (layout in export/sparse_format.py).
 * On cores with the DSP extension every width runs on the dual 16-bit multiply-accumulate
 * (SMLAD) over pairs that SXTB16 sign-extends; cores without it (Cortex-M0/M3) take the
 * portable C loops, which compute the same integers. */
#include "ecqx_kernels.h"
#include "ecqx_model_data.h" /* ECQX_SINGLE_ROUNDING */
#include "ecqx_requant.h"

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define ECQX_USE_DSP 1
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
#else
#define ECQX_USE_DSP 0
#endif

/* Weight k of a packed 2/4-bit row: word k / W, byte k % 4, field (k % W) / 4 (W = 32 / bits). */
static inline int32_t ecqx_field(const uint8_t *row, int32_t k, int32_t bits)
{
    const int32_t per_word = 32 / bits;
    const int32_t within = k % per_word;
    const uint32_t byte = row[4 * (k / per_word) + within % 4];
    const uint32_t v = (byte >> ((within / 4) * bits)) & ((1u << bits) - 1u);
    return (int32_t)(v ^ (1u << (bits - 1))) - (int32_t)(1u << (bits - 1)); /* sign-extend */
}

static int32_t ecqx_dot_int8(const int8_t *x, const int8_t *w, int32_t n)
{
    int32_t acc = 0;
    int32_t i = 0;
#if ECQX_USE_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t xv = ecqx_read_u32(x + i);
        const uint32_t wv = ecqx_read_u32(w + i);
        acc = ecqx_smlad(ecqx_sxtb16(xv), ecqx_sxtb16(wv), acc);
        acc = ecqx_smlad(ecqx_sxtb16_ror8(xv), ecqx_sxtb16_ror8(wv), acc);
    }
#endif
    for (; i < n; i++) {
        acc += (int32_t)x[i] * w[i];
    }
    return acc;
}

#if ECQX_USE_DSP
/* Four weights of field f of a word, moved to the top bits of the four bytes, against the
 * four inputs x[0..3]: SXTB16 pairs bytes 0/2 and 1/3 of both, so two SMLADs cover them.
 * The weights come out scaled by 2^(8 - bits); the caller divides once at the end. */
#define ECQX_FIELD_MAC(acc, wv, x, f, bits)                                                   \
    do {                                                                                      \
        const uint32_t t_ = ((wv) << (8u - (bits) * ((f) + 1u))) &                            \
                            (0x01010101u * (0x100u - (1u << (8u - (bits)))));                  \
        const uint32_t x_ = ecqx_read_u32((x) + 4 * (f));                                     \
        (acc) = ecqx_smlad(ecqx_sxtb16(x_), ecqx_sxtb16(t_), (acc));                          \
        (acc) = ecqx_smlad(ecqx_sxtb16_ror8(x_), ecqx_sxtb16_ror8(t_), (acc));                \
    } while (0)
#endif

/* Row of 4-bit weights: eight per word. */
static int32_t ecqx_dot_int4(const int8_t *x, const uint8_t *row, int32_t n)
{
    int32_t acc = 0;
    int32_t i = 0;
#if ECQX_USE_DSP
    for (; i + 8 <= n; i += 8) {
        const uint32_t wv = ecqx_read_u32(row + i / 2);
        ECQX_FIELD_MAC(acc, wv, x + i, 0u, 4u);
        ECQX_FIELD_MAC(acc, wv, x + i, 1u, 4u);
    }
    acc /= 16; /* exact: every product above carried the factor 16 */
#endif
    for (; i < n; i++) {
        acc += (int32_t)x[i] * ecqx_field(row, i, 4);
    }
    return acc;
}

/* Row of 2-bit weights: sixteen per word. */
static int32_t ecqx_dot_int2(const int8_t *x, const uint8_t *row, int32_t n)
{
    int32_t acc = 0;
    int32_t i = 0;
#if ECQX_USE_DSP
    for (; i + 16 <= n; i += 16) {
        const uint32_t wv = ecqx_read_u32(row + i / 4);
        ECQX_FIELD_MAC(acc, wv, x + i, 0u, 2u);
        ECQX_FIELD_MAC(acc, wv, x + i, 1u, 2u);
        ECQX_FIELD_MAC(acc, wv, x + i, 2u, 2u);
        ECQX_FIELD_MAC(acc, wv, x + i, 3u, 2u);
    }
    acc /= 64; /* exact: every product above carried the factor 64 */
#endif
    for (; i < n; i++) {
        acc += (int32_t)x[i] * ecqx_field(row, i, 2);
    }
    return acc;
}

void ecqx_fc_dense(const int8_t *x, int8_t *y, int32_t rows, int32_t cols, int32_t storage_bits,
                   const uint8_t *weights, const int32_t *bias, ecqx_requant_t rq)
{
    /* bytes per row: 2/4-bit rows fill whole 32-bit words */
    const int32_t stride = storage_bits == 8 ? cols : 4 * ((cols * storage_bits + 31) / 32);
    for (int32_t r = 0; r < rows; r++) {
        const uint8_t *row = weights + r * stride;
        int32_t acc = bias[r];
        if (storage_bits == 8) {
            acc += ecqx_dot_int8(x, (const int8_t *)row, cols);
        } else if (storage_bits == 4) {
            acc += ecqx_dot_int4(x, row, cols);
        } else {
            acc += ecqx_dot_int2(x, row, cols);
        }
        y[r] = ecqx_requantize(acc, rq.multiplier, rq.shift, rq.out_min);
    }
}

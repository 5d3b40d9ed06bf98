/* Dense fully-connected kernel on packed 2/4/8-bit weights. The 8-bit path uses the
 * Cortex-M DSP dual 16-bit multiply-accumulate (SMLAD) when the core has it; every other
 * path is portable C. */
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

static inline int32_t ecqx_field(const uint8_t *w, int32_t idx, int32_t bits)
{
    const int32_t per = 8 / bits;
    const uint32_t byte = w[idx / per];
    const uint32_t v = (byte >> ((idx % per) * bits)) & ((1u << bits) - 1u);
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

/* Two 4-bit weights per byte, low nibble first; n even and w byte-aligned. */
static int32_t ecqx_dot_int4(const int8_t *x, const uint8_t *w, int32_t n)
{
    int32_t acc = 0;
    for (int32_t i = 0; i < n; i += 2) {
        const int32_t b = (int8_t)*w++;
        acc += x[i] * ((int32_t)((uint32_t)b << 28) >> 28) + x[i + 1] * (b >> 4);
    }
    return acc;
}

void ecqx_fc_dense(const int8_t *x, int8_t *y, int32_t rows, int32_t cols, int32_t storage_bits,
                   const uint8_t *weights, const int32_t *bias, ecqx_requant_t rq)
{
    for (int32_t r = 0; r < rows; r++) {
        int32_t acc = bias[r];
        if (storage_bits == 8) {
            acc += ecqx_dot_int8(x, (const int8_t *)weights + r * cols, cols);
        } else if (storage_bits == 4 && (cols & 1) == 0) {
            acc += ecqx_dot_int4(x, weights + r * (cols / 2), cols);
        } else {
            const int32_t base = r * cols;
            for (int32_t c = 0; c < cols; c++) {
                acc += (int32_t)x[c] * ecqx_field(weights, base + c, storage_bits);
            }
        }
        y[r] = ecqx_requantize(acc, rq.multiplier, rq.shift, rq.out_min);
    }
}

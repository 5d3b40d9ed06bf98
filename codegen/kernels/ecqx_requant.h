/* Fixed-point requantization of an int32 accumulator to int8, bit-exact with ecqx's
 * integer reference engine (ecqx/integer/requant.py). The real multiplier is
 * multiplier * 2^(shift - 31), multiplier in [2^30, 2^31).
 * ECQX_SINGLE_ROUNDING (from the generated ecqx_config.h) selects the rounding:
 *   1: one rounding, half toward +inf (TFLITE_SINGLE_ROUNDING / CMSIS_NN_USE_SINGLE_ROUNDING);
 *   0: gemmlowp's two roundings, each half away from zero (TFLite's default).
 * Right shifts of negative values rely on arithmetic shifting, which gcc guarantees. */
#ifndef ECQX_REQUANT_H
#define ECQX_REQUANT_H

#include <stdint.h>

#include "ecqx_config.h"
#include "ecqx_kernels.h" /* ecqx_requant_t */

/* Two independent selects, which compile to conditional moves rather than branches. */
static inline int8_t ecqx_clamp_i8(int32_t v, int32_t lo)
{
    v = v < lo ? lo : v;
    v = v > 127 ? 127 : v;
    return (int8_t)v;
}

/* Single rounding when shift < 0 (a real multiplier below 0.5, the usual case): with
 * total = 31 - shift >= 32, floor(v / 2^total) == floor(floor(v / 2^32) / 2^(total - 32)), so
 * the high word of the rounded product is enough (one multiply-accumulate and one shift on
 * Cortex-M) and the result fits int32 without a range guard before the clamp. */
static inline int8_t ecqx_requantize_high(int32_t acc, int32_t multiplier, int32_t shift,
                                          int32_t out_min)
{
    const int32_t total = 31 - shift;
    const int64_t v = (int64_t)acc * multiplier + ((int64_t)1 << (total - 1));
    return ecqx_clamp_i8((int32_t)(v >> 32) >> (total - 32), out_min);
}

static inline int8_t ecqx_requantize(int32_t acc, int32_t multiplier, int32_t shift,
                                     int32_t out_min)
{
#if ECQX_SINGLE_ROUNDING
    if (shift < 0) {
        return ecqx_requantize_high(acc, multiplier, shift, out_min);
    }
    const int32_t total = 31 - shift;
    const int64_t v = (int64_t)acc * multiplier + ((int64_t)1 << (total - 1));
    const int64_t q = v >> total;
    return ecqx_clamp_i8((int32_t)(q < -256 ? -256 : (q > 256 ? 256 : q)), out_min);
#else
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    const int64_t ab = (int64_t)(acc * (1 << left)) * multiplier;
    const int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
    const int32_t high = (int32_t)((ab + nudge) / ((int64_t)1 << 31));
    const int32_t mask = (int32_t)((1u << right) - 1u);
    const int32_t rem = high & mask;
    const int32_t threshold = (mask >> 1) + (high < 0 ? 1 : 0);
    return ecqx_clamp_i8((high >> right) + (rem > threshold ? 1 : 0), out_min);
#endif
}

/* y[r] = requantized acc[r] for a layer's rows (the sparse kernels' second pass). */
static inline void ecqx_requantize_rows(const int32_t *acc, int8_t *y, int32_t rows,
                                        ecqx_requant_t rq)
{
#if ECQX_SINGLE_ROUNDING
    /* decided once per layer, not per row; a constant lower bound lets the compiler clamp
     * with one saturate instruction (USAT/SSAT) */
    if (rq.shift < 0 && rq.out_min == 0) {
        for (int32_t r = 0; r < rows; r++) {
            y[r] = ecqx_requantize_high(acc[r], rq.multiplier, rq.shift, 0);
        }
        return;
    }
    if (rq.shift < 0) {
        for (int32_t r = 0; r < rows; r++) {
            y[r] = ecqx_requantize_high(acc[r], rq.multiplier, rq.shift, -128);
        }
        return;
    }
#endif
    for (int32_t r = 0; r < rows; r++) {
        y[r] = ecqx_requantize(acc[r], rq.multiplier, rq.shift, rq.out_min);
    }
}

#endif /* ECQX_REQUANT_H */

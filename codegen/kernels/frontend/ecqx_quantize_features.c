/* Q10 coefficients -> int8 model input in IEEE single precision, operation for operation as
 * numpy's float32 reference: ((c - offset) * 2^-10 - mean) / std, then / scale, round half
 * to even, clamp. No libm: the rounding is done on the truncated integer part. */
#include "ecqx_frontend.h"

static int8_t ecqx_round_clamp(float y)
{
    if (!(y < 127.5f)) { /* also NaN, which the positive std and scale rule out */
        return 127;
    }
    if (y <= -128.5f) {
        return -128;
    }
    const int32_t t = (int32_t)y; /* toward zero; |y| < 129 so exact */
    const float frac = y - (float)t; /* exact: y and t share the exponent range */
    int32_t q = t;
    if (frac > 0.5f || (frac == 0.5f && (t & 1))) {
        q = t + 1;
    } else if (frac < -0.5f || (frac == -0.5f && (t & 1))) {
        q = t - 1;
    }
    return (int8_t)(q > 127 ? 127 : q);
}

void ecqx_quantize_features(const int32_t *coeffs, const int32_t *offsets, const float *mean,
                            const float *std, float scale, int32_t n, int8_t *out)
{
    for (int32_t i = 0; i < n; i++) {
        const int32_t c = offsets != NULL ? coeffs[i] - offsets[i] : coeffs[i];
        const float x = ((float)c * (1.0f / (1 << ECQX_MFCC_Q_OUT)) - mean[i]) / std[i];
        out[i] = ecqx_round_clamp(x / scale);
    }
}

/* Cepstral mean normalization's means: each coefficient's mean over the frames, in the Q10
 * integers of the coefficients, rounded half up: floor((2 * sum + frames) / (2 * frames)),
 * as ecqx/data/fixed_mfcc.py's frame_means defines it. */
#include "ecqx_frontend.h"

void ecqx_coeff_means(const int32_t *coeffs, int32_t frames, int32_t n_coeffs, int32_t *means)
{
    const int64_t den = 2 * (int64_t)frames;
    for (int32_t c = 0; c < n_coeffs; c++) {
        int64_t sum = 0;
        for (int32_t f = 0; f < frames; f++) {
            sum += coeffs[f * n_coeffs + c];
        }
        const int64_t num = 2 * sum + frames;
        int64_t q = num / den;
        if (num % den != 0 && num < 0) {
            q -= 1; /* C's division truncates toward zero; the definition floors */
        }
        means[c] = (int32_t)q;
    }
}

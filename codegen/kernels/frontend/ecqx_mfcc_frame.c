/* One frame of the fixed-point MFCC (definition and bit widths: ecqx/data/fixed_mfcc.py).
 * Intermediate magnitudes: windowed samples < 2^23, FFT values < 2^25 (int32); products, the
 * power spectrum (its sum < 2^48 by Parseval) and mel energies (< 2^61) in int64. */
#include "ecqx_frontend.h"

#define ECQX_GUARD_BITS 8
#define ECQX_MAX_EXPONENT 15
#define ECQX_POWER_SHIFT 2
#define ECQX_ENERGY_BITS (2 * 15 + 15 - ECQX_POWER_SHIFT)
#define ECQX_Q_LOG 16
#define ECQX_Q_DCT 20

/* left shift that brings the frame's largest |sample| to 16 bits (15 for silence) */
static int32_t ecqx_block_exponent(const int16_t *x, int32_t n)
{
    int32_t hi = 0, lo = 0; /* max and min: one compare each, no absolute value */
    for (int32_t i = 0; i < n; i++) {
        hi = x[i] > hi ? x[i] : hi;
        lo = x[i] < lo ? x[i] : lo;
    }
    const int32_t peak = hi > -lo ? hi : -lo;
    int32_t bitlen = 0;
    while (bitlen < 16 && peak >= (1 << bitlen)) {
        bitlen++;
    }
    return bitlen >= ECQX_MAX_EXPONENT ? 0 : ECQX_MAX_EXPONENT - bitlen;
}

/* index of the highest set bit of v >= 1 (CLZ where the compiler has it) */
static inline int32_t ecqx_msb64(uint64_t v)
{
#if defined(__GNUC__)
    return 63 - __builtin_clzll(v);
#else
    int32_t msb = 0;
    while (v >> (msb + 1)) {
        msb++;
    }
    return msb;
#endif
}

/* log2(v) in Q16 for 1 <= v < 2^62 */
static int32_t ecqx_log2_q16(int64_t v, const int32_t *table)
{
    const int32_t msb = ecqx_msb64((uint64_t)v);
    int64_t r = msb >= 22 ? v >> (msb - 22) : v << (22 - msb); /* leading one at bit 22 */
    int32_t idx = (int32_t)(r >> 16) & (ECQX_MFCC_LOG_SEGMENTS - 1);
    int32_t frac = (int32_t)(r & 0xFFFF);
    int32_t lo = table[idx], hi = table[idx + 1];
    return msb * (1 << ECQX_Q_LOG) + lo + (int32_t)(((int64_t)(hi - lo) * frac + (1 << 15)) >> 16);
}

/* (a * c + b * s) rounded from Q15 */
static inline int32_t ecqx_rot(int32_t a, int32_t c, int32_t b, int32_t s)
{
    return (int32_t)(((int64_t)a * c + (int64_t)b * s + (1 << 14)) >> 15);
}

void ecqx_mfcc_frame(const ecqx_mfcc_t *p, const int16_t *frame, int32_t *coeffs, int32_t *scratch)
{
    const int32_t half = p->fft_len / 2;
    int32_t *zr = scratch;
    int32_t *zi = zr + half;
    int64_t *power = (int64_t *)(void *)(zi + half);
    int32_t *log = (int32_t *)(power + half + 1);

    /* steps 1-2: block exponent, window, (even, odd) packed complex in bit-reversed order */
    const int32_t e = ecqx_block_exponent(frame, p->window_len);
    const int32_t scale = (int32_t)1 << e;
    for (int32_t j = 0; j < half; j++) {
        const int32_t i = 2 * p->bitrev[j];
        zr[j] = i < p->window_len ? ((int32_t)frame[i] * scale * p->window[i]) >> (15 - ECQX_GUARD_BITS) : 0;
        zi[j] = i + 1 < p->window_len ? ((int32_t)frame[i + 1] * scale * p->window[i + 1]) >> (15 - ECQX_GUARD_BITS) : 0;
    }
    /* step 3: radix-2 decimation-in-time stages, each halving so nothing overflows; twiddle
     * by twiddle (outer loop) so each is loaded once per stage */
    for (int32_t size = 2; size <= half; size *= 2) {
        const int32_t h = size / 2, step = p->fft_len / size;
        for (int32_t a = 0; a < half; a += size) { /* twiddle 1 multiplies exactly */
            const int32_t b = a + h, tr = zr[b], ti = zi[b];
            zr[b] = (zr[a] - tr) >> 1;
            zi[b] = (zi[a] - ti) >> 1;
            zr[a] = (zr[a] + tr) >> 1;
            zi[a] = (zi[a] + ti) >> 1;
        }
        for (int32_t j = 1; j < h; j++) {
            const int32_t c = p->cos_q15[j * step], s = p->sin_q15[j * step];
            for (int32_t a = j; a < half; a += size) {
                const int32_t b = a + h;
                const int32_t tr = ecqx_rot(zr[b], c, zi[b], s);
                const int32_t ti = ecqx_rot(zi[b], c, zr[b], -s);
                zr[b] = (zr[a] - tr) >> 1;
                zi[b] = (zi[a] - ti) >> 1;
                zr[a] = (zr[a] + tr) >> 1;
                zi[a] = (zi[a] + ti) >> 1;
            }
        }
    }
    /* step 3b-4: the real FFT's bins from the half-length one, their power. Bins k and
     * half - k share their inputs (A of one is the conjugate of the other's, B the negated
     * conjugate), so they are computed together. */
    for (int32_t k = 0; k <= half / 2; k++) {
        const int32_t m = k == 0 ? 0 : half - k; /* Z index of the partner term */
        const int32_t ar = zr[k] + zr[m], ai = zi[k] - zi[m];
        const int32_t br = zr[k] - zr[m], bi = zi[k] + zi[m];
        const int32_t c = p->cos_q15[k], s = p->sin_q15[k];
        const int32_t xr = (ar + ecqx_rot(bi, c, br, -s)) >> 1;
        const int32_t xi = (ai + ecqx_rot(-br, c, bi, -s)) >> 1;
        power[k] = ((int64_t)xr * xr + (int64_t)xi * xi) >> ECQX_POWER_SHIFT;
        if (half - k != k) {
            const int32_t c2 = p->cos_q15[half - k], s2 = p->sin_q15[half - k];
            const int32_t yr = (ar + ecqx_rot(bi, c2, br, s2)) >> 1;
            const int32_t yi = (-ai + ecqx_rot(br, c2, bi, -s2)) >> 1;
            power[half - k] = ((int64_t)yr * yr + (int64_t)yi * yi) >> ECQX_POWER_SHIFT;
        }
    }
    /* step 4-5: mel filters, log2 in Q16 without the frame's scale, floored */
    const int16_t *w = p->mel_weights;
    const int32_t offset = (2 * e + ECQX_ENERGY_BITS) * (1 << ECQX_Q_LOG);
    for (int32_t m = 0; m < p->n_mels; m++) {
        int64_t energy = 0;
        const int64_t *bins = power + p->mel_start[m];
        for (int32_t k = 0; k < p->mel_count[m]; k++) {
            energy += bins[k] * w[k];
        }
        w += p->mel_count[m];
        int32_t v = p->log_floor_q16;
        if (energy > 0) {
            const int32_t l = ecqx_log2_q16(energy, p->log2_table) - offset;
            v = l > v ? l : v;
        }
        log[m] = v;
    }
    /* step 6: DCT (times ln 2), Q16 * Q20 -> Q10 */
    const int32_t shift = ECQX_Q_LOG + ECQX_Q_DCT - ECQX_MFCC_Q_OUT;
    for (int32_t j = 0; j < p->n_coeffs; j++) {
        const int32_t *row = p->dct + j * p->n_mels;
        int64_t acc = 0;
        for (int32_t m = 0; m < p->n_mels; m++) {
            acc += (int64_t)log[m] * row[m];
        }
        coeffs[j] = (int32_t)((acc + ((int64_t)1 << (shift - 1))) >> shift);
    }
}

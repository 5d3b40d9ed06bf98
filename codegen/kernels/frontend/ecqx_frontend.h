/* The fixed-point MFCC front end of ecqx: int16 PCM frames -> int32 MFCC in Q10, and those
 * coefficients -> the model's int8 input. Its integer definition is ecqx's
 * ecqx/data/fixed_mfcc.py; these kernels compute the same integers bit for bit.
 * Assumes two's complement and arithmetic right shifts of negative values (checked below). */
#ifndef ECQX_FRONTEND_H
#define ECQX_FRONTEND_H

#include <stddef.h>
#include <stdint.h>

#if ((-1) >> 1) != -1
#error "ecqx's front end needs arithmetic right shifts of negative integers"
#endif

#define ECQX_MFCC_Q_OUT 10    /* coefficients are Q10 */
#define ECQX_MFCC_LOG_SEGMENTS 64

/* The constant tables of one front end (generated with the model). Ranges: fft_len a power
 * of two in 16..4096; window_len even, <= fft_len; 1 <= n_coeffs <= n_mels <= fft_len / 2. */
typedef struct {
    int32_t window_len;
    int32_t fft_len;
    int32_t n_mels;
    int32_t n_coeffs;
    int32_t log_floor_q16;        /* floor of log2(mel energy), Q16 */
    const int16_t *window;        /* [window_len] Hann, Q15 */
    const int16_t *cos_q15;       /* [fft_len / 2 + 1] cos(2 pi k / fft_len) */
    const int16_t *sin_q15;       /* [fft_len / 2 + 1] sin(2 pi k / fft_len) */
    const uint16_t *bitrev;       /* [fft_len / 2] */
    const uint16_t *mel_start;    /* [n_mels] first FFT bin of each filter */
    const uint16_t *mel_count;    /* [n_mels] bins of each filter */
    const int16_t *mel_weights;   /* the filters' weights one after another, Q15 */
    const int32_t *log2_table;    /* [ECQX_MFCC_LOG_SEGMENTS + 1] log2(1 + j / 64), Q16 */
    const int32_t *dct;           /* [n_coeffs][n_mels] DCT-II times ln 2, Q20 */
} ecqx_mfcc_t;

/* int32 words of scratch that ecqx_mfcc_frame needs for a given FFT length and filter count */
#define ECQX_MFCC_SCRATCH_WORDS(fft_len, n_mels) (2 * ((fft_len) / 2) + 2 * ((fft_len) / 2 + 1) + (n_mels))

/* One frame of p->window_len samples -> p->n_coeffs coefficients (Q10).
 * scratch: ECQX_MFCC_SCRATCH_WORDS(p->fft_len, p->n_mels) int32 words, 8-byte aligned. */
void ecqx_mfcc_frame(const ecqx_mfcc_t *p, const int16_t *frame, int32_t *coeffs, int32_t *scratch);

/* Each coefficient's mean over the frames of coeffs [frames][n_coeffs] (Q10), rounded half
 * up, into means [n_coeffs]: cepstral mean normalization subtracts them. 1 <= frames,
 * |coefficient| < 2^30. */
void ecqx_coeff_means(const int32_t *coeffs, int32_t frames, int32_t n_coeffs, int32_t *means);

/* Q10 coefficients -> int8 model input: q = round_half_even((((c - offset) / 1024 - mean) / std)
 * / scale) clamped to [-128, 127], in IEEE single precision exactly as the integer model's
 * reference (numpy float32) and ONNX's QuantizeLinear do. offsets: [n] integers subtracted
 * first (the frame means of cepstral mean normalization), or NULL for none; |c - offset|
 * < 2^24 (exact in a float). std > 0, scale > 0. */
void ecqx_quantize_features(const int32_t *coeffs, const int32_t *offsets, const float *mean,
                            const float *std, float scale, int32_t n, int8_t *out);

#endif /* ECQX_FRONTEND_H */

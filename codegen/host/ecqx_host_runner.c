/* Host harness for the generated C: reads records from stdin, answers on stdout. Used by the
 * bit-exactness checks of export and the tests.
 *   (no argument)  N x ECQX_IN_FEATURES int8 features -> N x ECQX_NUM_CLASSES int8 logits
 *   audio          N x ECQX_AUDIO_SAMPLES int16 PCM -> per clip the int8 features, then logits
 *   mfcc           N x ECQX_AUDIO_SAMPLES int16 PCM -> per clip ECQX_NUM_FRAMES x
 *                  ECQX_NUM_COEFFS int32 Q10 coefficients (the front end before quantization)
 *   stream         one int16 stream, pushed ECQX_FRAME_HOP samples at a time -> per inference
 *                  int32 frame, lead, count, int8 detected, index, then int8 logits */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ecqx_model.h"
#if ECQX_HAS_FRONTEND
#include "ecqx_frontend_data.h"
#endif

static int write_all(const void *p, size_t n)
{
    return fwrite(p, 1, n, stdout) == n ? 0 : 1;
}

int main(int argc, char **argv)
{
    static int8_t input[ECQX_IN_FEATURES];
    static int8_t logits[ECQX_NUM_CLASSES];
    const char *mode = argc > 1 ? argv[1] : "features";
    if (strcmp(mode, "features") == 0) {
        while (fread(input, 1, sizeof input, stdin) == sizeof input) {
            ecqx_infer(input, logits);
            if (write_all(logits, sizeof logits)) {
                return 1;
            }
        }
        return ferror(stdin) ? 1 : 0;
    }
#if ECQX_HAS_FRONTEND
    static int16_t pcm[ECQX_AUDIO_SAMPLES];
    static int64_t scratch[(ECQX_MFCC_SCRATCH_WORDS(ECQX_FFT_LEN, ECQX_NUM_MELS) + 1) / 2];
    static int32_t coeffs[ECQX_NUM_FRAMES][ECQX_NUM_COEFFS];
    const int audio = strcmp(mode, "audio") == 0;
    if (strcmp(mode, "stream") == 0) {
        static ecqx_stream_t st;
        ecqx_stream_result_t r;
        ecqx_stream_init(&st);
        while (fread(pcm, sizeof pcm[0], ECQX_FRAME_HOP, stdin) == ECQX_FRAME_HOP) {
            ecqx_stream_push(&st, pcm, &r);
            if (r.inferred) {
                const int32_t head[3] = {r.frame, r.lead, r.count};
                const int8_t flags[2] = {(int8_t)r.detected, (int8_t)r.index};
                if (write_all(head, sizeof head) || write_all(flags, 2) ||
                    write_all(r.logits, sizeof r.logits)) {
                    return 1;
                }
            }
        }
        return ferror(stdin) ? 1 : 0;
    }
    if (!audio && strcmp(mode, "mfcc") != 0) {
        fprintf(stderr, "unknown mode %s (features, audio, mfcc, stream)\n", mode);
        return 2;
    }
    while (fread(pcm, sizeof pcm[0], ECQX_AUDIO_SAMPLES, stdin) == ECQX_AUDIO_SAMPLES) {
        if (audio) {
            /* the features for comparison, and the logits through ecqx_classify, so that both
             * entry points are checked (the front end runs twice; a test harness only) */
            ecqx_result_t r;
            ecqx_features(pcm, input);
            ecqx_classify(pcm, &r);
            if (write_all(input, sizeof input) || write_all(r.logits, sizeof r.logits)) {
                return 1;
            }
            continue;
        }
        for (int32_t f = 0; f < ECQX_NUM_FRAMES; f++) {
            ecqx_mfcc_frame(&ecqx_mfcc, pcm + f * ECQX_FRAME_HOP, coeffs[f], (int32_t *)(void *)scratch);
        }
        if (write_all(coeffs, sizeof coeffs)) {
            return 1;
        }
    }
    return ferror(stdin) ? 1 : 0;
#else
    fprintf(stderr, "mode %s needs a model with the fixed-point front end\n", mode);
    return 2;
#endif
}

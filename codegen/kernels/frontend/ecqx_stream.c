/* Streaming recognition (ecqx/integer/recognize.py is the reference): push audio one hop at
 * a time; every feature frame is computed once, kept in a ring, and every
 * ECQX_STREAM_INFER_EVERY frames the model runs on the last second; the int8 logits of the
 * last ECQX_STREAM_AVERAGE runs are summed per class to decide. */
#include "ecqx_frontend_data.h"
#include "ecqx_model.h"

void ecqx_stream_init(ecqx_stream_t *s)
{
    for (int32_t i = 0; i < ECQX_STREAM_BUFFER; i++) {
        s->buf[i] = 0;
    }
    s->hops = 0;
    s->frames = 0;
    s->inferences = 0;
    s->last_detection = -1;
}

static void ecqx_stream_decide(ecqx_stream_t *s, ecqx_stream_result_t *r)
{
    const int32_t n = s->inferences < ECQX_STREAM_AVERAGE ? s->inferences : ECQX_STREAM_AVERAGE;
    int32_t sums[ECQX_NUM_CLASSES];
    for (int32_t c = 0; c < ECQX_NUM_CLASSES; c++) {
        sums[c] = 0;
        for (int32_t i = 0; i < n; i++) {
            sums[c] += s->logits[i][c];
        }
    }
    int32_t top = 0;
    for (int32_t c = 1; c < ECQX_NUM_CLASSES; c++) {
        top = sums[c] > sums[top] ? c : top;
    }
    int32_t runner = INT32_MIN;
    for (int32_t c = 0; c < ECQX_NUM_CLASSES; c++) {
        runner = c != top && sums[c] > runner ? sums[c] : runner;
    }
    const int32_t frame = s->frames - 1;
    const int32_t recent = s->last_detection >= 0 &&
                           frame - s->last_detection < ECQX_STREAM_SUPPRESSION_FRAMES;
    r->lead = sums[top] - runner;
    r->count = n;
    if (n >= ECQX_STREAM_MIN_COUNT && ecqx_is_keyword[top] &&
        r->lead >= ECQX_STREAM_THRESHOLD * n && !recent) {
        r->detected = 1;
        r->index = top;
        r->label = ecqx_label(top);
        s->last_detection = frame;
    }
}

int32_t ecqx_stream_push(ecqx_stream_t *s, const int16_t hop[ECQX_FRAME_HOP], ecqx_stream_result_t *r)
{
    r->inferred = 0;
    r->detected = 0;
    r->index = -1;
    r->label = "";
    r->frame = -1;
    /* the last ECQX_STREAM_BUFFER samples; the newest frame starts at buf[0] */
    for (int32_t i = 0; i + ECQX_FRAME_HOP < ECQX_STREAM_BUFFER; i++) {
        s->buf[i] = s->buf[i + ECQX_FRAME_HOP];
    }
    for (int32_t i = 0; i < ECQX_FRAME_HOP; i++) {
        s->buf[ECQX_STREAM_BUFFER - ECQX_FRAME_HOP + i] = hop[i];
    }
    s->hops++;
    if (s->hops * ECQX_FRAME_HOP < ECQX_STREAM_BUFFER) {
        return 0; /* the first frame is not complete yet */
    }
    ecqx_mfcc_frame(&ecqx_mfcc, s->buf, s->coeffs[s->frames % ECQX_NUM_FRAMES], (int32_t *)(void *)ecqx_frontend_scratch);
    s->frames++;
    const int32_t newest = s->frames - 1;
    if (newest < ECQX_NUM_FRAMES - 1 || (newest - (ECQX_NUM_FRAMES - 1)) % ECQX_STREAM_INFER_EVERY) {
        return 0;
    }
#if ECQX_MFCC_CMN
    /* the ring holds exactly the window's frames, and a sum does not care about their order */
    int32_t means[ECQX_NUM_COEFFS];
    ecqx_coeff_means(&s->coeffs[0][0], ECQX_NUM_FRAMES, ECQX_NUM_COEFFS, means);
    const int32_t *offsets = means;
#else
    const int32_t *offsets = NULL;
#endif
    /* the window's frames, oldest first, each normalized at its position */
    for (int32_t j = 0; j < ECQX_NUM_FRAMES; j++) {
        const int32_t f = (newest - (ECQX_NUM_FRAMES - 1) + j) % ECQX_NUM_FRAMES;
        const int32_t at = j * ECQX_NUM_COEFFS;
        ecqx_quantize_features(s->coeffs[f], offsets, ecqx_input_mean + at, ecqx_input_std + at,
                               ECQX_INPUT_SCALE, ECQX_NUM_COEFFS, s->features + at);
    }
    int8_t *slot = s->logits[s->inferences % ECQX_STREAM_AVERAGE];
    ecqx_infer(s->features, slot);
    s->inferences++;
    for (int32_t c = 0; c < ECQX_NUM_CLASSES; c++) {
        r->logits[c] = slot[c];
    }
    r->inferred = 1;
    r->frame = newest;
    ecqx_stream_decide(s, r);
    return r->detected;
}

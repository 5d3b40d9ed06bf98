/* ecqx device application: answers the HIL protocol (lib/ecqx_proto) by running the
 * generated integer kernel (src/generated, written by `ecqx export --target cortex-m`). */
#include <stdint.h>

#include "ecqx_io.h"
#include "ecqx_model.h"
#include "ecqx_proto.h"

void ecqx_app_init(void);
void ecqx_app_step(void);

static ecqx_parser_t parser;
static uint8_t tx[ECQX_IN_FEATURES + ECQX_NUM_CLASSES + 64u];

/* The emulator's instruction counter measures between the first instructions of these two
 * functions; they must stay real calls. */
__attribute__((noinline)) void ecqx_marker_begin(void)
{
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void ecqx_marker_end(void)
{
    __asm__ volatile("" ::: "memory");
}

static void send(uint8_t type, const uint8_t *payload, uint16_t length)
{
    const uint32_t n = ecqx_frame_encode(type, payload, length, tx, sizeof tx);
    ecqx_io_write(tx, n);
}

static void send_info(uint8_t type)
{
    uint8_t p[48];
    uint16_t n = 0;
    const char *id = ecqx_model_id();
    const char *board = ecqx_io_board();
    p[n++] = ECQX_PROTO_VERSION;
    for (int i = 0; i < 16; i++) {
        p[n++] = (uint8_t)id[i];
    }
    p[n++] = (uint8_t)(ECQX_IN_FEATURES & 0xFF);
    p[n++] = (uint8_t)(ECQX_IN_FEATURES >> 8);
    p[n++] = (uint8_t)ECQX_NUM_CLASSES;
    p[n++] = 0;
    p[n++] = ECQX_HAS_FRONTEND;
    while (*board && n < sizeof p) {
        p[n++] = (uint8_t)*board++;
    }
    send(type, p, n);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int k = 0; k < 4; k++) {
        p[k] = (uint8_t)(v >> (8 * k));
    }
}

static void send_error(uint8_t code)
{
    send(ECQX_MSG_ERROR, &code, 1);
}

static void infer(const ecqx_parser_t *req)
{
    static int8_t logits[ECQX_NUM_CLASSES];
    uint8_t p[ECQX_NUM_CLASSES + 5];
    if (req->length != ECQX_IN_FEATURES) {
        send_error(ECQX_ERR_LENGTH);
        return;
    }
    ecqx_marker_begin();
    const uint32_t c0 = ecqx_io_cycles();
    ecqx_infer((const int8_t *)req->payload, logits);
    const uint32_t cycles = ecqx_io_cycles() - c0;
    ecqx_marker_end();
    for (int i = 0; i < ECQX_NUM_CLASSES; i++) {
        p[i] = (uint8_t)logits[i];
    }
    p[ECQX_NUM_CLASSES] = (uint8_t)ecqx_argmax(logits);
    put_u32(p + ECQX_NUM_CLASSES + 1, cycles);
    send(ECQX_MSG_RESULT, p, sizeof p);
}

#if ECQX_HAS_FRONTEND
/* The clip that CLASSIFY runs on, filled by AUDIO frames. */
static int16_t audio[ECQX_AUDIO_SAMPLES];

static void audio_part(const ecqx_parser_t *req)
{
    const uint32_t n = req->length >= 2u ? (req->length - 2u) / 2u : 0u;
    const uint32_t first = (uint32_t)req->payload[0] | (uint32_t)req->payload[1] << 8;
    if (n == 0u || req->length % 2u || first + n > ECQX_AUDIO_SAMPLES) {
        send_error(ECQX_ERR_LENGTH);
        return;
    }
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *b = req->payload + 2u + 2u * i;
        audio[first + i] = (int16_t)(uint16_t)((uint32_t)b[0] | (uint32_t)b[1] << 8);
    }
    send(ECQX_MSG_ACK, req->payload, 2);
}

/* Front end and network each inside its own marker interval: the emulator counts them
 * separately. */
static void classify(const ecqx_parser_t *req)
{
    static int8_t features[ECQX_IN_FEATURES];
    static int8_t logits[ECQX_NUM_CLASSES];
    static uint8_t p[ECQX_IN_FEATURES + ECQX_NUM_CLASSES + 9];
    if (req->length != 0u) {
        send_error(ECQX_ERR_LENGTH);
        return;
    }
    ecqx_marker_begin();
    const uint32_t c0 = ecqx_io_cycles();
    ecqx_features(audio, features);
    const uint32_t c1 = ecqx_io_cycles();
    ecqx_marker_end();
    ecqx_marker_begin();
    ecqx_infer(features, logits);
    const uint32_t c2 = ecqx_io_cycles();
    ecqx_marker_end();
    uint32_t n = 0;
    for (int i = 0; i < ECQX_IN_FEATURES; i++) {
        p[n++] = (uint8_t)features[i];
    }
    for (int i = 0; i < ECQX_NUM_CLASSES; i++) {
        p[n++] = (uint8_t)logits[i];
    }
    p[n++] = (uint8_t)ecqx_argmax(logits);
    put_u32(p + n, c1 - c0);
    put_u32(p + n + 4, c2 - c1);
    send(ECQX_MSG_AUDIO_RESULT, p, sizeof p);
}

static ecqx_stream_t stream;

/* One hop into the streaming recognizer, counted as one marker interval. */
static void stream_push(const ecqx_parser_t *req)
{
    static int16_t hop[ECQX_FRAME_HOP];
    static uint8_t p[3 + 12 + ECQX_NUM_CLASSES];
    ecqx_stream_result_t r;
    if (req->length != 2u * ECQX_FRAME_HOP) {
        send_error(ECQX_ERR_LENGTH);
        return;
    }
    for (uint32_t i = 0; i < ECQX_FRAME_HOP; i++) {
        const uint8_t *b = req->payload + 2u * i;
        hop[i] = (int16_t)(uint16_t)((uint32_t)b[0] | (uint32_t)b[1] << 8);
    }
    ecqx_marker_begin();
    ecqx_stream_push(&stream, hop, &r);
    ecqx_marker_end();
    p[0] = (uint8_t)r.inferred;
    p[1] = (uint8_t)r.detected;
    p[2] = (uint8_t)(int8_t)r.index;
    put_u32(p + 3, (uint32_t)r.frame);
    put_u32(p + 7, (uint32_t)r.lead);
    put_u32(p + 11, (uint32_t)r.count);
    for (int i = 0; i < ECQX_NUM_CLASSES; i++) {
        p[15 + i] = (uint8_t)(r.inferred ? r.logits[i] : 0);
    }
    send(ECQX_MSG_STREAM_RESULT, p, sizeof p);
}
#endif

void ecqx_app_init(void)
{
    ecqx_io_init();
    ecqx_parser_init(&parser);
    send_info(ECQX_MSG_BOOT);
}

/* Wait for one byte and act on it. */
void ecqx_app_step(void)
{
    const uint8_t byte = ecqx_io_read_byte();
    switch (ecqx_parser_feed(&parser, byte)) {
    case ECQX_FEED_FRAME:
        if (parser.type == ECQX_MSG_HELLO) {
            send_info(ECQX_MSG_INFO);
        } else if (parser.type == ECQX_MSG_INFER) {
            infer(&parser);
#if ECQX_HAS_FRONTEND
        } else if (parser.type == ECQX_MSG_AUDIO) {
            audio_part(&parser);
        } else if (parser.type == ECQX_MSG_CLASSIFY) {
            classify(&parser);
        } else if (parser.type == ECQX_MSG_STREAM_RESET) {
            ecqx_stream_init(&stream);
            send(ECQX_MSG_ACK, parser.payload, 0);
        } else if (parser.type == ECQX_MSG_STREAM_PUSH) {
            stream_push(&parser);
#endif
        } else {
            send_error(ECQX_ERR_UNKNOWN_TYPE);
        }
        break;
    case ECQX_FEED_ERROR:
        send_error(parser.error);
        break;
    default:
        break;
    }
}

#if !defined(ARDUINO)
int main(void)
{
    ecqx_app_init();
    for (;;) {
        ecqx_app_step();
    }
}
#endif

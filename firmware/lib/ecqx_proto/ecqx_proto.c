#include "ecqx_proto.h"

enum { S_SYNC0, S_SYNC1, S_VERSION, S_TYPE, S_LEN0, S_LEN1, S_PAYLOAD, S_CRC0, S_CRC1 };

uint16_t ecqx_crc16(uint16_t crc, const uint8_t *data, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        crc ^= (uint16_t)((uint16_t)data[i] << 8);
        for (int b = 0; b < 8; b++) {
            const uint32_t shifted = (uint32_t)crc << 1;
            crc = (uint16_t)((crc & 0x8000u) ? (shifted ^ 0x1021u) : shifted);
        }
    }
    return crc;
}

void ecqx_parser_init(ecqx_parser_t *p)
{
    p->state = S_SYNC0;
    p->received = 0;
    p->error = 0;
}

static uint8_t known_type(uint8_t t)
{
    return t == ECQX_MSG_HELLO || t == ECQX_MSG_INFER || t == ECQX_MSG_AUDIO ||
           t == ECQX_MSG_CLASSIFY || t == ECQX_MSG_STREAM_RESET || t == ECQX_MSG_STREAM_PUSH ||
           t == ECQX_MSG_INFO || t == ECQX_MSG_RESULT || t == ECQX_MSG_BOOT ||
           t == ECQX_MSG_ACK || t == ECQX_MSG_AUDIO_RESULT || t == ECQX_MSG_STREAM_RESULT ||
           t == ECQX_MSG_ERROR;
}

static ecqx_feed_result_t fail(ecqx_parser_t *p, uint8_t code)
{
    p->error = code;
    p->state = S_SYNC0;
    return ECQX_FEED_ERROR;
}

/* A header byte that cannot begin a valid frame: report it and resynchronize at once, keeping
 * the byte if it could start the next sync pair, so a stray sync pair in front of a frame
 * costs that pair and never the frame (or a retry) behind it. */
static ecqx_feed_result_t reject(ecqx_parser_t *p, uint8_t code, uint8_t byte)
{
    (void)fail(p, code);
    if (byte == ECQX_PROTO_SYNC0) {
        p->state = S_SYNC1;
    }
    return ECQX_FEED_ERROR;
}

ecqx_feed_result_t ecqx_parser_feed(ecqx_parser_t *p, uint8_t byte)
{
    switch (p->state) {
    case S_SYNC0:
        if (byte == ECQX_PROTO_SYNC0) {
            p->state = S_SYNC1;
        }
        return ECQX_FEED_NONE; /* garbage between frames is skipped silently */
    case S_SYNC1:
        p->state = byte == ECQX_PROTO_SYNC1 ? S_VERSION
                                            : (byte == ECQX_PROTO_SYNC0 ? S_SYNC1 : S_SYNC0);
        return ECQX_FEED_NONE;
    case S_VERSION:
        if (byte == ECQX_PROTO_SYNC0) {
            p->state = S_SYNC1; /* "EC 51 EC ...": the first pair was noise */
            return ECQX_FEED_NONE;
        }
        p->version = byte;
        if (byte != ECQX_PROTO_VERSION) {
            return reject(p, ECQX_ERR_VERSION, byte);
        }
        p->crc = ecqx_crc16(0xFFFFu, &byte, 1);
        p->state = S_TYPE;
        return ECQX_FEED_NONE;
    case S_TYPE:
        p->type = byte;
        if (!known_type(byte)) {
            return reject(p, ECQX_ERR_UNKNOWN_TYPE, byte);
        }
        p->crc = ecqx_crc16(p->crc, &byte, 1);
        p->state = S_LEN0;
        return ECQX_FEED_NONE;
    case S_LEN0:
        p->length = byte;
        p->crc = ecqx_crc16(p->crc, &byte, 1);
        p->state = S_LEN1;
        return ECQX_FEED_NONE;
    case S_LEN1:
        p->length = (uint16_t)(p->length | ((uint16_t)byte << 8));
        p->crc = ecqx_crc16(p->crc, &byte, 1);
        if (p->length > ECQX_PROTO_MAX_PAYLOAD) {
            return reject(p, ECQX_ERR_OVERSIZE, byte); /* never buffer it */
        }
        p->received = 0;
        p->state = p->length ? S_PAYLOAD : S_CRC0;
        return ECQX_FEED_NONE;
    case S_PAYLOAD:
        p->payload[p->received++] = byte;
        p->crc = ecqx_crc16(p->crc, &byte, 1);
        if (p->received == p->length) {
            p->state = S_CRC0;
        }
        return ECQX_FEED_NONE;
    case S_CRC0:
        p->crc_lo = byte;
        p->state = S_CRC1;
        return ECQX_FEED_NONE;
    default: /* S_CRC1 */
        p->state = S_SYNC0;
        if ((uint16_t)(p->crc_lo | ((uint16_t)byte << 8)) != p->crc) {
            return fail(p, ECQX_ERR_CRC);
        }
        return ECQX_FEED_FRAME;
    }
}

uint32_t ecqx_frame_encode(uint8_t type, const uint8_t *payload, uint16_t length, uint8_t *out,
                           uint32_t cap)
{
    const uint32_t size = 8u + length;
    if (size > cap) {
        return 0;
    }
    out[0] = ECQX_PROTO_SYNC0;
    out[1] = ECQX_PROTO_SYNC1;
    out[2] = ECQX_PROTO_VERSION;
    out[3] = type;
    out[4] = (uint8_t)(length & 0xFFu);
    out[5] = (uint8_t)(length >> 8);
    for (uint16_t i = 0; i < length; i++) {
        out[6 + i] = payload[i];
    }
    const uint16_t crc = ecqx_crc16(0xFFFFu, out + 2, 4u + length);
    out[6 + length] = (uint8_t)(crc & 0xFFu);
    out[7 + length] = (uint8_t)(crc >> 8);
    return size;
}

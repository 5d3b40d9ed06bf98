/* Device side of ecqx's framed serial protocol (host side: hil/protocol.py).
 *
 * Frame: 0xEC 0x51 | version u8 | type u8 | length u16 LE | payload | crc16 LE
 * CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over version, type, length and payload.
 * Header bytes are checked as they arrive (version, known type, length bound): a header that
 * cannot start a valid frame is rejected at once, so a stray sync pair costs only itself. A bad
 * frame is answered with an ERROR frame and the parser resynchronizes on the next sync pair;
 * the payload buffer is never written past ECQX_PROTO_MAX_PAYLOAD. */
#ifndef ECQX_PROTO_H
#define ECQX_PROTO_H

#include <stdint.h>

#define ECQX_PROTO_VERSION 2 /* 2: INFO has a front-end byte; AUDIO/CLASSIFY */
#define ECQX_PROTO_SYNC0 0xECu
#define ECQX_PROTO_SYNC1 0x51u
#ifndef ECQX_PROTO_MAX_PAYLOAD
#define ECQX_PROTO_MAX_PAYLOAD 1024u
#endif

enum ecqx_msg_type {
    ECQX_MSG_HELLO = 0x01,  /* host -> device, empty */
    ECQX_MSG_INFER = 0x02,  /* host -> device, int8 input features */
    ECQX_MSG_AUDIO = 0x03,  /* host -> device: first sample u16, int16 PCM samples (the clip buffer) */
    ECQX_MSG_CLASSIFY = 0x04, /* host -> device, empty: front end + network on the clip buffer */
    ECQX_MSG_STREAM_RESET = 0x05, /* host -> device, empty: restart the streaming recognizer (ACK) */
    ECQX_MSG_STREAM_PUSH = 0x06,  /* host -> device: one hop of int16 PCM */
    ECQX_MSG_INFO = 0x81,   /* device -> host: version, model id, sizes, front end u8, board */
    ECQX_MSG_RESULT = 0x82, /* device -> host: int8 logits, class u8, cycles u32 */
    ECQX_MSG_BOOT = 0x83,   /* device -> host, sent once after every reset: like INFO */
    ECQX_MSG_ACK = 0x84,    /* device -> host: the first sample u16 of the AUDIO frame stored */
    ECQX_MSG_AUDIO_RESULT = 0x85, /* device -> host: int8 features, int8 logits, class u8,
                                     cycles u32 of the front end, cycles u32 of the network */
    ECQX_MSG_STREAM_RESULT = 0x86, /* device -> host: inferred u8, detected u8, index i8,
                                      frame i32, lead i32, count i32, int8 logits */
    ECQX_MSG_ERROR = 0x7F,  /* device -> host: code u8 (enum ecqx_error_code) */
};

enum ecqx_error_code {
    ECQX_ERR_CRC = 1,
    ECQX_ERR_OVERSIZE = 2,
    ECQX_ERR_UNKNOWN_TYPE = 3,
    ECQX_ERR_LENGTH = 4,
    ECQX_ERR_VERSION = 5,
};

typedef enum {
    ECQX_FEED_NONE = 0, /* need more bytes */
    ECQX_FEED_FRAME,    /* a complete, valid frame is in the parser */
    ECQX_FEED_ERROR,    /* a bad frame was dropped; error holds the code */
} ecqx_feed_result_t;

typedef struct {
    uint8_t state;
    uint8_t version;
    uint8_t type;
    uint16_t length;
    uint16_t received;
    uint16_t crc;
    uint8_t crc_lo;
    uint8_t error;
    uint8_t payload[ECQX_PROTO_MAX_PAYLOAD];
} ecqx_parser_t;

uint16_t ecqx_crc16(uint16_t crc, const uint8_t *data, uint32_t n);
void ecqx_parser_init(ecqx_parser_t *p);
ecqx_feed_result_t ecqx_parser_feed(ecqx_parser_t *p, uint8_t byte);

/* Serialize a frame into out (capacity cap); returns its size or 0 if it does not fit. */
uint32_t ecqx_frame_encode(uint8_t type, const uint8_t *payload, uint16_t length, uint8_t *out,
                           uint32_t cap);

#endif /* ECQX_PROTO_H */

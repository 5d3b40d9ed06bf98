/* The smallest program around the library: classify the first second of a WAV file.
 *
 *   (build line: README.md, "Build")
 *   ./classify_wav clip.wav
 *
 * Prints the keyword, then every class's int8 logit. The WAV must be 16-bit PCM, mono, at
 * ECQX_SAMPLE_RATE; a shorter clip is padded with silence. On a microcontroller, replace the
 * file reading with your microphone's DMA buffer and call ecqx_classify the same way. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ecqx_model.h"

static uint32_t le32(const uint8_t *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint16_t le16(const uint8_t *b)
{
    return (uint16_t)(b[0] | b[1] << 8);
}

/* Reads up to ECQX_AUDIO_SAMPLES samples of the "data" chunk; returns how many, or -1. */
static long read_wav(FILE *f, int16_t *pcm, const char **error)
{
    uint8_t head[12], chunk[8], fmt[16];
    int have_fmt = 0;
    if (fread(head, 1, 12, f) != 12 || memcmp(head, "RIFF", 4) || memcmp(head + 8, "WAVE", 4)) {
        *error = "not a RIFF/WAVE file";
        return -1;
    }
    while (fread(chunk, 1, 8, f) == 8) {
        const uint32_t size = le32(chunk + 4);
        if (!memcmp(chunk, "fmt ", 4) && size >= 16) {
            if (fread(fmt, 1, 16, f) != 16 || fseek(f, (long)(size - 16 + (size & 1)), SEEK_CUR)) {
                break;
            }
            if (le16(fmt) != 1 || le16(fmt + 2) != 1 || le32(fmt + 4) != ECQX_SAMPLE_RATE ||
                le16(fmt + 14) != 16) {
                *error = "expected 16-bit PCM, mono, at ECQX_SAMPLE_RATE Hz";
                return -1;
            }
            have_fmt = 1;
        } else if (!memcmp(chunk, "data", 4) && have_fmt) {
            long n = 0;
            uint8_t s[2];
            while (n < ECQX_AUDIO_SAMPLES && (uint32_t)n < size / 2 && fread(s, 1, 2, f) == 2) {
                pcm[n++] = (int16_t)le16(s);
            }
            return n;
        } else if (fseek(f, (long)(size + (size & 1)), SEEK_CUR)) {
            break;
        }
    }
    *error = "no fmt and data chunk";
    return -1;
}

int main(int argc, char **argv)
{
    static int16_t pcm[ECQX_AUDIO_SAMPLES]; /* zeros: a short clip is padded with silence */
    const char *error = "cannot open it";
    if (argc != 2) {
        fprintf(stderr, "usage: %s CLIP.wav\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    const long n = f ? read_wav(f, pcm, &error) : -1;
    if (f) {
        fclose(f);
    }
    if (n < 0) {
        fprintf(stderr, "%s: %s\n", argv[1], error);
        return 1;
    }
    ecqx_result_t r;
    ecqx_classify(pcm, &r);
    printf("%s\n", r.label);
    for (int32_t i = 0; i < ECQX_NUM_CLASSES; i++) {
        printf("%s %d\n", ecqx_label(i), r.logits[i]);
    }
    return 0;
}

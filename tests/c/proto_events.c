/* Test driver for the device-side protocol parser: feeds stdin byte by byte and prints one
 * line per event ("F type length" or "E code"), so tests can compare with the host parser. */
#include <stdio.h>

#include "ecqx_proto.h"

int main(void)
{
    static ecqx_parser_t p;
    ecqx_parser_init(&p);
    int c;
    while ((c = getchar()) != EOF) {
        switch (ecqx_parser_feed(&p, (uint8_t)c)) {
        case ECQX_FEED_FRAME:
            printf("F %u %u\n", p.type, p.length);
            break;
        case ECQX_FEED_ERROR:
            printf("E %u\n", p.error);
            break;
        default:
            break;
        }
    }
    return 0;
}

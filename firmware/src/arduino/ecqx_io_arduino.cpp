/* Arduino boards (e.g. Nano 33 BLE Sense, nRF52840): USB CDC Serial, DWT cycle counter. */
#if defined(ARDUINO)

#include <Arduino.h>

extern "C" {
#include "ecqx_io.h"
}

#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)
#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)

extern "C" void ecqx_io_init(void)
{
    Serial.begin(ECQX_BAUD);
    while (!Serial) {
    }
    DEMCR |= 1u << 24; /* TRCENA */
    DWT_CYCCNT = 0;
    DWT_CTRL |= 1u;
}

extern "C" uint8_t ecqx_io_read_byte(void)
{
    while (Serial.available() <= 0) {
        yield();
    }
    return (uint8_t)Serial.read();
}

extern "C" void ecqx_io_write(const uint8_t *data, uint32_t n)
{
    Serial.write(data, n);
    Serial.flush();
}

extern "C" uint32_t ecqx_io_cycles(void)
{
    return DWT_CYCCNT;
}

extern "C" const char *ecqx_io_board(void)
{
    return ECQX_BOARD_NAME;
}

#endif /* ARDUINO */

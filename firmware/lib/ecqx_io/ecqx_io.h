/* The tiny board layer the application needs: bytes in and out, a cycle counter, reset.
 * One implementation per board family, selected by the build: ecqx_io_mps2.c here for the
 * emulated boards, src/arduino/ecqx_io_arduino.cpp for Arduino-framework boards. */
#ifndef ECQX_IO_H
#define ECQX_IO_H

#include <stdint.h>

void ecqx_io_init(void);
uint8_t ecqx_io_read_byte(void); /* blocks (sleeping) until a byte arrives */
void ecqx_io_write(const uint8_t *data, uint32_t n);
uint32_t ecqx_io_cycles(void); /* DWT cycle counter, or 0 where there is none (QEMU) */
const char *ecqx_io_board(void);

#endif /* ECQX_IO_H */

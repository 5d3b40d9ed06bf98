/* ARM MPS2 FPGA boards as QEMU emulates them (mps2-an385 Cortex-M3, mps2-an386 Cortex-M4F,
 * mps2-an500 Cortex-M7): CMSDK UART0, received by interrupt into a ring buffer while the
 * core sleeps in WFI (busy-polling the emulated UART stalls the first exchange).
 *
 * QEMU does not wake WFI for an interrupt masked by PRIMASK, so the usual race-free
 * "cpsid; check; wfi; cpsie" hangs there. Instead the check and WFI run unmasked, and a
 * 1 ms SysTick, running only while waiting for input, bounds the one race (a byte arriving
 * between the check and WFI) to a millisecond. SysTick is off during inference, so the
 * emulator's instruction counts contain no timer interrupts. */
#if defined(ECQX_BOARD_MPS2)

#include <stdint.h>

#include "ecqx_io.h"

/* MPS2 boards: UART0 at 0x40004000, receive IRQ 0. MPS3 AN547 (Cortex-M55, boots Secure):
 * the UART0 Secure alias 0x59303000, receive IRQ 33; its board file sets both. */
#ifndef ECQX_UART0_BASE
#define ECQX_UART0_BASE 0x40004000u
#endif
#ifndef ECQX_UART0_RX_IRQ
#define ECQX_UART0_RX_IRQ 0
#endif
#define UART0_BASE ECQX_UART0_BASE
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x00u))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x04u))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x08u))
#define UART_INTCLEAR (*(volatile uint32_t *)(UART0_BASE + 0x0Cu))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x10u))
#define UART_STATE_TXFULL 0x1u
#define UART_STATE_RXFULL 0x2u
#define UART_CTRL_TX_EN 0x1u
#define UART_CTRL_RX_EN 0x2u
#define UART_CTRL_RX_IRQ 0x8u
#define NVIC_ISER(n) (*(volatile uint32_t *)(0xE000E100u + 4u * (n)))
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_ON 0x7u /* enable, interrupt, core clock */

#define RX_SIZE 2048u /* power of two; > one INFER frame */
static volatile uint8_t rx_buf[RX_SIZE];
static volatile uint32_t rx_head;
static uint32_t rx_tail;

void ecqx_uart0_rx_handler(void)
{
    /* Clear first, then drain: a byte landing after the drain raises a new interrupt,
     * whereas clearing last could swallow it and stall the UART for good. */
    UART_INTCLEAR = 0x2u;
    while (UART_STATE & UART_STATE_RXFULL) {
        const uint8_t b = (uint8_t)UART_DATA;
        const uint32_t next = (rx_head + 1u) & (RX_SIZE - 1u);
        if (next != rx_tail) { /* on overflow drop the byte; the CRC reports it */
            rx_buf[rx_head] = b;
            rx_head = next;
        }
    }
}

void ecqx_systick_handler(void)
{
    /* Nothing to do: the interrupt only ends a WFI. */
}

void ecqx_io_init(void)
{
    SYST_RVR = 25000u - 1u; /* 1 ms at the boards' 25 MHz */
    UART_BAUDDIV = 16u;
    UART_CTRL = UART_CTRL_TX_EN | UART_CTRL_RX_EN | UART_CTRL_RX_IRQ;
    NVIC_ISER(ECQX_UART0_RX_IRQ / 32u) = 1u << (ECQX_UART0_RX_IRQ % 32u);
}

uint8_t ecqx_io_read_byte(void)
{
    if (rx_tail == rx_head) {
        SYST_CVR = 0u;
        SYST_CSR = SYST_ON;
        while (rx_tail == rx_head) {
            __asm__ volatile("wfi" ::: "memory");
        }
        SYST_CSR = 0u;
    }
    const uint8_t b = rx_buf[rx_tail];
    rx_tail = (rx_tail + 1u) & (RX_SIZE - 1u);
    return b;
}

void ecqx_io_write(const uint8_t *data, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        while (UART_STATE & UART_STATE_TXFULL) {
        }
        UART_DATA = data[i];
    }
}

uint32_t ecqx_io_cycles(void)
{
    return 0u; /* QEMU implements no DWT cycle counter; count instructions with the plugin */
}

const char *ecqx_io_board(void)
{
    return ECQX_BOARD_NAME;
}

#endif /* ECQX_BOARD_MPS2 */

/* Bare-metal start-up for the emulated MPS2/MPS3 boards: vector table, .data/.bss set-up, FPU
 * enable, then main(). Arduino builds use their framework's start-up instead. */
#if defined(ECQX_BARE_METAL)

#include <stdint.h>

extern uint32_t __etext, __data_start__, __data_end__, __bss_start__, __bss_end__;
extern uint32_t __StackTop;
extern int main(void);
void ecqx_uart0_rx_handler(void);
void ecqx_systick_handler(void);

static void default_handler(void)
{
    for (;;) {
    }
}

void reset_handler(void)
{
    const uint32_t *src = &__etext;
    for (uint32_t *dst = &__data_start__; dst < &__data_end__;) {
        *dst++ = *src++;
    }
    for (uint32_t *dst = &__bss_start__; dst < &__bss_end__;) {
        *dst++ = 0u;
    }
#if defined(__ARM_FP)
    /* Full access to CP10/CP11 before any floating-point instruction runs. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    (void)main();
    for (;;) {
    }
}

typedef void (*vector_t)(void);

/* The UART's receive interrupt line differs per board (0 on MPS2, 33 on MPS3 AN547);
 * the board's build flags set ECQX_UART0_RX_IRQ, every other line gets the default. */
#ifndef ECQX_UART0_RX_IRQ
#define ECQX_UART0_RX_IRQ 0
#endif
#define IRQ(n) ((n) == ECQX_UART0_RX_IRQ ? ecqx_uart0_rx_handler : default_handler)
#define IRQ8(n) IRQ(n), IRQ(n + 1), IRQ(n + 2), IRQ(n + 3), IRQ(n + 4), IRQ(n + 5), IRQ(n + 6), \
                IRQ(n + 7)

__attribute__((section(".vectors"), used)) static const vector_t vectors[16 + 64] = {
    (vector_t)(uintptr_t)&__StackTop,
    reset_handler,
    default_handler, /* NMI */
    default_handler, /* HardFault */
    default_handler, /* MemManage */
    default_handler, /* BusFault */
    default_handler, /* UsageFault */
    default_handler, /* SecureFault (v8-M), reserved before */
    0,
    0,
    0,
    default_handler, /* SVC */
    default_handler, /* DebugMon */
    0,
    default_handler, /* PendSV */
    ecqx_systick_handler, /* SysTick */
    IRQ8(0), IRQ8(8), IRQ8(16), IRQ8(24), IRQ8(32), IRQ8(40), IRQ8(48), IRQ8(56),
};

#endif /* ECQX_BARE_METAL */

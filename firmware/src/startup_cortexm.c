/* Bare-metal start-up for the emulated MPS2 boards: vector table, .data/.bss set-up, FPU
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

__attribute__((section(".vectors"), used)) static const vector_t vectors[16 + 32] = {
    (vector_t)(uintptr_t)&__StackTop,
    reset_handler,
    default_handler, /* NMI */
    default_handler, /* HardFault */
    default_handler, /* MemManage */
    default_handler, /* BusFault */
    default_handler, /* UsageFault */
    0, 0, 0, 0,
    default_handler, /* SVC */
    default_handler, /* DebugMon */
    0,
    default_handler, /* PendSV */
    ecqx_systick_handler, /* SysTick */
    ecqx_uart0_rx_handler, /* IRQ 0: UART0 RX */
    default_handler, default_handler, default_handler, default_handler, default_handler,
    default_handler, default_handler, default_handler, default_handler, default_handler,
    default_handler, default_handler, default_handler, default_handler, default_handler,
    default_handler, default_handler, default_handler, default_handler, default_handler,
    default_handler, default_handler, default_handler, default_handler, default_handler,
    default_handler, default_handler, default_handler, default_handler, default_handler,
    default_handler,
};

#endif /* ECQX_BARE_METAL */

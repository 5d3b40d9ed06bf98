/* The instruction-set paths of the kernels, decided once for the whole library from the
 * compiler's target macros (as CMSIS-NN does in one header). Each path computes the same
 * integers; the tests run every one of them.
 *   ECQX_USE_THUMB2  Thumb-2 inline assembly in the sparse kernels (Cortex-M3/M4/M7/M33/M55)
 *   ECQX_USE_MVE     Helium gathers/scatters in the sparse kernels (Cortex-M55/M85) for groups
 *                    of at least ECQX_MVE_MIN_GROUP weights; shorter ones take the Thumb-2 run
 *   ECQX_USE_DSP     SMLAD over SXTB16 pairs in the dense kernel (cores with the DSP extension)
 * Define ECQX_PORTABLE_C to take the plain C sparse paths on any core. */
#ifndef ECQX_ARCH_H
#define ECQX_ARCH_H

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(ECQX_PORTABLE_C)
#define ECQX_USE_MVE 1
#else
#define ECQX_USE_MVE 0
#endif

#if defined(__thumb2__) && !defined(ECQX_PORTABLE_C)
#define ECQX_USE_THUMB2 1
#else
#define ECQX_USE_THUMB2 0
#endif

/* Helium pays a loop, a tail predicate and an add across lanes per group, so below this many
 * weights the scalar run (three or four instructions per weight) is cheaper. Emulated
 * Cortex-M55, MLP_GSC at 79% zeros, instructions per inference by threshold: 4: 557k,
 * 8: 553k, 12: 570k, 16: 581k; Helium for every group 623k, for none 625k (session 14). */
#ifndef ECQX_MVE_MIN_GROUP
#define ECQX_MVE_MIN_GROUP 8u
#endif

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define ECQX_USE_DSP 1
#else
#define ECQX_USE_DSP 0
#endif

/* marks the intended fall-through between the entry points of the portable C kernels'
 * unrolled runs, which -Wextra would otherwise report */
#if defined(__GNUC__) && __GNUC__ >= 7
#define ECQX_FALLTHROUGH __attribute__((fallthrough))
#else
#define ECQX_FALLTHROUGH ((void)0)
#endif

/* The 31 steps of an unrolled run entered by a switch: STEP(k) opens `case k:` (k elements to
 * go), does one element and falls through to the next. */
#define ECQX_STEPS_31_TO_1(STEP) \
    STEP(31) STEP(30) STEP(29) STEP(28) STEP(27) STEP(26) STEP(25) STEP(24) STEP(23) \
    STEP(22) STEP(21) STEP(20) STEP(19) STEP(18) STEP(17) STEP(16) STEP(15) STEP(14) \
    STEP(13) STEP(12) STEP(11) STEP(10) STEP(9) STEP(8) STEP(7) STEP(6) STEP(5) STEP(4) \
    STEP(3) STEP(2) STEP(1)

#endif /* ECQX_ARCH_H */

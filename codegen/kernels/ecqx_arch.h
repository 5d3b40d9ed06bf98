/* The instruction-set paths of the kernels, decided once for the whole library from the
 * compiler's target macros (as CMSIS-NN does in one header). Each path computes the same
 * integers; the tests run every one of them.
 *   ECQX_USE_MVE     Helium gathers in the sparse kernel (Cortex-M55/M85)
 *   ECQX_USE_THUMB2  Thumb-2 inline assembly in the sparse kernel (Cortex-M3/M4/M7/M33)
 *   ECQX_USE_DSP     SMLAD over SXTB16 pairs in the dense kernel (cores with the DSP extension)
 * Define ECQX_PORTABLE_C to take the plain C sparse path on any core. */
#ifndef ECQX_ARCH_H
#define ECQX_ARCH_H

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1) && !defined(ECQX_PORTABLE_C)
#define ECQX_USE_MVE 1
#else
#define ECQX_USE_MVE 0
#endif

#if defined(__thumb2__) && !ECQX_USE_MVE && !defined(ECQX_PORTABLE_C)
#define ECQX_USE_THUMB2 1
#else
#define ECQX_USE_THUMB2 0
#endif

#if defined(__ARM_FEATURE_DSP) && __ARM_FEATURE_DSP
#define ECQX_USE_DSP 1
#else
#define ECQX_USE_DSP 0
#endif

#endif /* ECQX_ARCH_H */

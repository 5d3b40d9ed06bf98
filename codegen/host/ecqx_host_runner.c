/* Host harness for the generated kernel: reads N * ECQX_IN_FEATURES int8 inputs from stdin,
 * writes N * ECQX_NUM_CLASSES int8 logits to stdout. Used by the bit-exactness tests. */
#include <stdint.h>
#include <stdio.h>

#include "ecqx_model.h"

int main(void)
{
    static int8_t input[ECQX_IN_FEATURES];
    static int8_t logits[ECQX_NUM_CLASSES];
    while (fread(input, 1, sizeof input, stdin) == sizeof input) {
        ecqx_model_infer(input, logits);
        if (fwrite(logits, 1, sizeof logits, stdout) != sizeof logits) {
            return 1;
        }
    }
    return ferror(stdin) ? 1 : 0;
}

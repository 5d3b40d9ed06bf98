"""The C weight encodings users pick from (``--weights``). Torch- and numpy-free, so the CLI
offers them without importing the generator; the generator takes them from here."""

# auto: per layer the sparse form with fewer estimated instructions (by row, or by column
# behind a ReLU) if it is smaller than dense packed, else dense; fast: the fewest estimated
# instructions of all; sparse / colsparse: grouped by row / by input column (skips zero
# inputs); int8: dense one byte per weight (the baseline the benchmark compares against).
WEIGHT_FORMATS = ("auto", "fast", "sparse", "colsparse", "dense", "int8")

"""The C weight encodings users pick from (``--weights``). Torch- and numpy-free, so the CLI
offers them without importing the generator; the generator takes them from here."""

# auto: the smaller of sparse and dense per layer; fast: the one with the fewest estimated
# instructions of sparse, dense and int8; int8: dense one byte per weight (the baseline the
# benchmark compares against).
WEIGHT_FORMATS = ("auto", "fast", "sparse", "dense", "int8")

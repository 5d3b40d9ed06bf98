"""The names users pick from: export targets and C weight encodings. Torch- and numpy-free, so
the CLI offers them without importing an exporter; the exporters take them from here."""

TARGETS = ("onnx", "tflite", "c", "nnr")

# auto: the smaller of sparse and dense per layer; fast: the one with the fewest estimated
# instructions of sparse, dense and int8; int8: dense one byte per weight (the baseline the
# benchmark compares against).
WEIGHT_FORMATS = ("auto", "fast", "sparse", "dense", "int8")

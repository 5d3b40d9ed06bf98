"""The export targets users pick from (``--target``). Torch- and numpy-free, so the CLI offers
them without importing an exporter; ``export.targets.MANAGERS`` has one manager per name."""

TARGETS = ("onnx", "tflite", "c", "nnr")

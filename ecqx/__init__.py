"""ecqx: explainability-driven entropy-constrained quantization down to a microcontroller."""

__version__ = "0.1.0"

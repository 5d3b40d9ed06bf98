"""One vocabulary for results, shared by every report and table.

Top-1 keys name what ran: ``float`` (the float model), ``quantized`` (the trained PyTorch model
with quantized weights and float activations), ``integer`` (the reference engine: the
specification), ``device`` (the board or emulator), and runtimes by name (``onnxruntime``,
``litert``, ``tflm``, ``c_host``, ``pytorch_fake_quant``). JSON files hold fractions in 0..1;
tables print them with ``percent``."""

from __future__ import annotations

import math

FLOAT, QUANTIZED, INTEGER, DEVICE = "float", "quantized", "integer", "device"


def percent(fraction: float | None, digits: int = 1) -> str:
    """``0.8389 -> '83.9%'``; ``None`` or NaN (not measured) -> ``'-'``."""
    if fraction is None or (isinstance(fraction, float) and math.isnan(fraction)):
        return "-"
    return f"{100 * fraction:.{digits}f}%"

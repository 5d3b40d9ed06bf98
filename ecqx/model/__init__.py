"""Models quantized by ecqx."""

from ecqx.model.mlp_gsc import MLP_GSC_HIDDEN, mlp_gsc

__all__ = ["MLP_GSC_HIDDEN", "mlp_gsc"]

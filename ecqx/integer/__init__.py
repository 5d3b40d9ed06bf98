"""The integer model (the specification), its reference engine, and its construction."""

from ecqx.integer.engine import predict, run
from ecqx.integer.model import IntegerModel, IntegerModelError, IntLayer

__all__ = ["IntegerModel", "IntegerModelError", "IntLayer", "run", "predict"]

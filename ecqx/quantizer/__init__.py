"""ECQ / ECQx quantization: centroid grids, assignment, relevance criteria and the QAT step."""

from ecqx.quantizer.assign import ecq_assign, ecqx_assign
from ecqx.quantizer.grid import Grid, make_grid
from ecqx.quantizer.qat import Quantizer, StepStats

__all__ = ["Grid", "make_grid", "ecq_assign", "ecqx_assign", "Quantizer", "StepStats"]

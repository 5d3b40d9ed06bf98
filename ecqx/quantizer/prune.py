"""Pruning masks from per-weight scores (pure functions), as the companion paper ("Utilizing
Explainable AI for Quantization and Pruning of Deep Neural Networks") prunes: unstructured
(single weights) or structured (whole units of a Linear layer, whole filters of a Conv), the
lowest-scoring first. Scores are an explanation's per-weight relevance |R| (LRP, DeepLIFT,
gradient x weight) or, as the baseline, the weight magnitude |w|; a unit's or filter's score
is the sum over its incoming weights.

Each layer loses exactly ``round(ratio * n)`` of its weights (or units): a per-layer share,
so that no criterion can empty one layer to spare another (a global ranking would compare
scores across layers of different scales). Ties go to the lower index (stable sort)."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def check_ratio(ratio: float) -> float:
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"pruning ratio must lie in [0, 1), got {ratio}")
    return ratio


def lowest(scores: torch.Tensor, k: int) -> torch.Tensor:
    """Boolean mask of the ``k`` lowest entries of a flat tensor (stable on ties)."""
    order = torch.argsort(scores.flatten(), stable=True)
    out = torch.zeros(scores.numel(), dtype=torch.bool, device=scores.device)
    out[order[:k]] = True
    return out


def weight_masks(scores: Sequence[torch.Tensor], ratio: float) -> list[torch.Tensor]:
    """Keep-masks (True = kept) removing ``round(ratio * n)`` weights of each layer."""
    check_ratio(ratio)
    out = []
    for s in scores:
        removed = lowest(s.abs(), round(ratio * s.numel())).reshape(s.shape)
        out.append(~removed)
    return out


def unit_scores(score: torch.Tensor) -> torch.Tensor:
    """Per output unit (row of a Linear weight, filter of a Conv): the sum of |score|."""
    return score.abs().reshape(score.shape[0], -1).sum(1)


def unit_masks(
    scores: Sequence[torch.Tensor], ratio: float, last_kept: bool = True
) -> list[torch.Tensor]:
    """Per layer, the output units kept (True) when ``round(ratio * units)`` of the lowest
    scoring ones go; the last layer (the classes) is kept whole when ``last_kept``."""
    check_ratio(ratio)
    out = []
    for i, s in enumerate(scores):
        u = unit_scores(s)
        if last_kept and i == len(scores) - 1:
            out.append(torch.ones_like(u, dtype=torch.bool))
        else:
            out.append(~lowest(u, round(ratio * u.numel())))
    return out


def expand_units(units: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """A unit keep-mask [out] as a weight keep-mask of ``shape`` (whole rows / filters)."""
    return units.reshape((-1,) + (1,) * (len(shape) - 1)).expand(*shape).clone()

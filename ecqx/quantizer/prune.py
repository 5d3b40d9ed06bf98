"""Pruning masks from per-weight scores (pure functions), as the companion paper ("Utilizing
Explainable AI for Quantization and Pruning of Deep Neural Networks") prunes: unstructured
(single weights) or structured (whole units of a Linear layer, whole filters of a Conv), the
lowest-scoring first. Scores are an explanation's per-weight relevance |R| (LRP, DeepLIFT,
gradient x weight) or, as the baseline, the weight magnitude |w|; a unit's or filter's score
is the sum over its incoming weights.

Each layer loses exactly ``round(ratio * n)`` of its weights (or units): a per-layer share,
so that no criterion can empty one layer to spare another (a global ranking would compare
scores across layers of different scales). Ties are broken by a second score when one is
given (the magnitude, for relevance: a weight that never carried relevance on the scoring
samples, e.g. behind a unit that stayed inactive, has relevance exactly 0, and those ties
are many - 35-43% of MLP_GSC's weights, counting its zero codes), else by the lower index."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def check_ratio(ratio: float) -> float:
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f"pruning ratio must lie in [0, 1), got {ratio}")
    return ratio


def lowest(scores: torch.Tensor, k: int, tiebreak: torch.Tensor | None = None) -> torch.Tensor:
    """Boolean mask of the ``k`` lowest entries of a flat tensor; ties go to the lower
    ``tiebreak`` (when given), then to the lower index."""
    order = torch.arange(scores.numel(), device=scores.device)
    if tiebreak is not None:
        order = torch.argsort(tiebreak.flatten(), stable=True)
    order = order[torch.argsort(scores.flatten()[order], stable=True)]
    out = torch.zeros(scores.numel(), dtype=torch.bool, device=scores.device)
    out[order[:k]] = True
    return out


def weight_masks(
    scores: Sequence[torch.Tensor],
    ratio: float,
    tiebreak: Sequence[torch.Tensor] | None = None,
) -> list[torch.Tensor]:
    """Keep-masks (True = kept) removing ``round(ratio * n)`` weights of each layer."""
    check_ratio(ratio)
    ties = tiebreak if tiebreak is not None else [None] * len(scores)
    out = []
    for s, t in zip(scores, ties, strict=True):
        tb = None if t is None else t.abs()
        removed = lowest(s.abs(), round(ratio * s.numel()), tb).reshape(s.shape)
        out.append(~removed)
    return out


def unit_scores(score: torch.Tensor) -> torch.Tensor:
    """Per output unit (row of a Linear weight, filter of a Conv): the sum of |score|."""
    return score.abs().reshape(score.shape[0], -1).sum(1)


def unit_masks(
    scores: Sequence[torch.Tensor],
    ratio: float,
    last_kept: bool = True,
    tiebreak: Sequence[torch.Tensor] | None = None,
) -> list[torch.Tensor]:
    """Per layer, the output units kept (True) when ``round(ratio * units)`` of the lowest
    scoring ones go; the last layer (the classes) is kept whole when ``last_kept``."""
    check_ratio(ratio)
    ties = tiebreak if tiebreak is not None else [None] * len(scores)
    out = []
    for i, (s, t) in enumerate(zip(scores, ties, strict=True)):
        u = unit_scores(s)
        if last_kept and i == len(scores) - 1:
            out.append(torch.ones_like(u, dtype=torch.bool))
        else:
            tb = None if t is None else unit_scores(t)
            out.append(~lowest(u, round(ratio * u.numel()), tb))
    return out


def expand_units(units: torch.Tensor, shape: Sequence[int]) -> torch.Tensor:
    """A unit keep-mask [out] as a weight keep-mask of ``shape`` (whole rows / filters)."""
    return units.reshape((-1,) + (1,) * (len(shape) - 1)).expand(*shape).clone()

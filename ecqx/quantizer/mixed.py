"""Relevance-driven per-layer bit widths under a size budget (mixed precision, after the
companion paper's use of explanation scores for per-layer precision).

Each layer gets ``b_l`` in ``[lo, hi]`` bits so that ``sum_l N_l b_l <= budget * sum_l N_l``.
A layer's claim on bits is its relevance density, ``R_l / N_l`` (its share of the network's
relevance per weight): relevance is conserved layer to layer, so a small layer whose few
weights carry as much relevance as a large layer's many gets the finer grid. Bits are handed
out greedily, one bit to one layer at a time, to the layer with the highest density times
``2^-(b_l - lo)`` - each further bit quarters the quantization noise power but is worth half
as much as the last - among those whose upgrade still fits the budget.

A pure function of the scores and sizes; which relevance feeds it is the caller's choice.
"""

from __future__ import annotations

from collections.abc import Sequence

from ecqx.bits import check_bits


def allocate_bits(
    scores: Sequence[float], sizes: Sequence[int], budget: float, lo: int = 2, hi: int = 5
) -> list[int]:
    """Per-layer bits in ``[lo, hi]`` with mean bits per weight at most ``budget``."""
    check_bits(lo)
    check_bits(hi)
    if len(scores) != len(sizes) or not sizes:
        raise ValueError("one score and one size per layer are needed")
    if not lo <= budget <= hi:
        raise ValueError(f"the bit budget must lie in [{lo}, {hi}] bits per weight, got {budget}")
    bits = [lo] * len(sizes)
    room = budget * sum(sizes) - lo * sum(sizes)
    while True:
        fits = [i for i in range(len(sizes)) if bits[i] < hi and sizes[i] <= room + 1e-9]
        if not fits:
            return bits
        best = max(fits, key=lambda i: (scores[i] / sizes[i] * 2.0 ** (lo - bits[i]), -i))
        bits[best] += 1
        room -= sizes[best]

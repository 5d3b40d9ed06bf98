"""Pruning masks: exactly the requested share per layer, lowest scores first."""

import pytest
import torch

from ecqx.quantizer.prune import expand_units, unit_masks, weight_masks


def test_weight_masks_remove_exactly_the_share_with_the_lowest_scores():
    g = torch.Generator().manual_seed(0)
    scores = [torch.randn(7, 11, generator=g), torch.randn(3, 4, 5, 5, generator=g)]
    for ratio in (0.0, 0.3, 0.5, 0.9):
        masks = weight_masks(scores, ratio)
        for s, keep in zip(scores, masks, strict=True):
            assert int((~keep).sum()) == round(ratio * s.numel())
            if 0 < ratio:
                assert s.abs()[~keep].max() <= s.abs()[keep].min()
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        weight_masks(scores, 1.0)


def test_unit_masks_remove_whole_units_and_keep_the_output_layer():
    scores = [torch.tensor([[1.0, 1.0], [0.1, 0.1], [5.0, 0.0], [0.0, 0.2]]),
              torch.ones(2, 4)]  # fmt: skip
    units = unit_masks(scores, 0.5)
    assert units[0].tolist() == [True, False, True, False]  # unit sums 2, 0.2, 5, 0.2
    assert units[1].all()
    w = expand_units(units[0], (4, 2))
    assert w.tolist() == [[True, True], [False, False], [True, True], [False, False]]
    conv = expand_units(torch.tensor([True, False]), (2, 3, 3, 3))
    assert conv[0].all() and not conv[1].any()


def test_ties_go_to_the_smaller_weight():
    relevance = [torch.tensor([[0.0, 0.0, 0.0, 2.0]])]
    magnitude = [torch.tensor([[0.3, 0.1, 0.2, 0.05]])]
    keep = weight_masks(relevance, 0.5, tiebreak=magnitude)[0]
    assert keep.tolist() == [[True, False, False, True]]  # the two smallest zero-relevance
    assert weight_masks(relevance, 0.5)[0].tolist() == [[False, False, True, True]]  # by index

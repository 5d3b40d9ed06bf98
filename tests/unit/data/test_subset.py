"""Deterministic class-stratified subsets."""

import numpy as np
import pytest

from ecqx.data.subset import stratified


def test_stratified_subset_covers_every_class_deterministically():
    labels = np.repeat(np.arange(4), [10, 10, 10, 2])  # sorted by class, like the test split
    pick = stratified(labels, 10)
    assert len(pick) == 10 and np.all(np.diff(pick) > 0)
    assert np.bincount(labels[pick]).tolist() == [3, 3, 2, 2]  # round-robin, small class too
    assert np.array_equal(pick, stratified(labels, 10))
    assert len(stratified(labels, None)) == len(stratified(labels, 99)) == 32
    with pytest.raises(ValueError):
        stratified(labels, 0)

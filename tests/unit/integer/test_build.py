"""Building the integer model: the accumulator overflow proof refuses a crafted model."""

import pytest
from helpers import random_integer_model

from ecqx.integer import IntegerModelError
from ecqx.integer.build import check_overflow


def test_overflow_check_refuses_a_crafted_model():
    model, _ = random_integer_model(seed=8)
    check_overflow(model)  # the normal model passes
    ly = model.layers[0]
    ly.bias[:] = 2**31 - 1 - 10  # any non-zero input sum pushes the accumulator past int32
    with pytest.raises(IntegerModelError, match="overflow|accumulator"):
        check_overflow(model)

"""Type-and-range predicates shared by every validation (training settings, integer model
fields): small, but written once so that a bool never passes as an int anywhere."""

from __future__ import annotations

import math


def is_int(v: object) -> bool:
    """An integer and not a bool (``True`` is an ``int`` to Python, never to a range check)."""
    return isinstance(v, int) and not isinstance(v, bool)


def is_finite(v: object) -> bool:
    """A finite real number, not a bool."""
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)

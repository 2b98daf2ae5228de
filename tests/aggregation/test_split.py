"""``split_largest_remainder``'s integer path (the allocation's pack steps) gives the shares
of the exact path with fractions, which it replaced for speed."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.core.money import split_largest_remainder


@settings(max_examples=1000, deadline=None)
@given(
    weights=st.lists(st.integers(0, 5000), min_size=1, max_size=15),
    total=st.integers(0, 20_000),
    data=st.data(),
)
def test_integer_weights_split_as_fractions_do(
    weights: list[int], total: int, data: st.DataObject
) -> None:
    order = data.draw(st.none() | st.permutations(range(len(weights))))
    if sum(weights) == 0:
        with pytest.raises(ValueError, match="zero weights"):
            split_largest_remainder(max(total, 1), weights, order=order)
        return
    shares = split_largest_remainder(total, weights, order=order)
    # Fraction weights take the exact path
    assert shares == split_largest_remainder(total, [Fraction(w) for w in weights], order=order)
    assert sum(shares) == total


def test_negative_integer_weights_are_refused() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        split_largest_remainder(3, [2, -1])

"""Shortage allocation among buyer lines: examples and properties."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.aggregation.shortage import Cut, Line, share_shortfall

D = Decimal
# The issue asks for at least 500 examples of every property.
PROPERTY = settings(max_examples=500, deadline=None)


def cuts(result: list[Cut]) -> dict[str, Decimal]:
    return {c.line_id: c.quantity for c in result}


def test_cut_in_proportion_to_what_was_confirmed() -> None:
    result = share_shortfall(D(3), [Line("l2", D(20)), Line("l1", D(10))], step=D(1))
    assert result == [Cut("l1", D(1), D(9)), Cut("l2", D(2), D(18))]


def test_leftover_steps_go_to_the_largest_remainders_then_the_smaller_id() -> None:
    lines = [Line("c", D(3)), Line("b", D(3)), Line("a", D(3))]
    assert cuts(share_shortfall(D(1), lines, step=D(1))) == {"a": D(1), "b": D(0), "c": D(0)}
    # 5 packs of 0.5 over 6 : 2 -> quotas 3.75 and 1.25 packs; 0.75 beats 0.25
    lines = [Line("a", D(1)), Line("b", D(3))]
    assert cuts(share_shortfall(D("2.5"), lines, step=D("0.5"))) == {
        "a": D("0.5"),
        "b": D("2.0"),
    }


def test_whole_shortfall_and_no_shortfall() -> None:
    lines = [Line("a", D(4)), Line("b", D(6))]
    assert all(c.remaining == 0 for c in share_shortfall(D(10), lines, step=D(1)))
    assert all(c.quantity == 0 for c in share_shortfall(D(0), lines, step=D(1)))
    assert share_shortfall(D(0), [], step=D(1)) == []


@pytest.mark.parametrize(
    ("shortfall", "lines", "message"),
    [
        (D(11), [Line("a", D(4)), Line("b", D(6))], "more than the quantity confirmed"),
        (D("1.5"), [Line("a", D(4))], "multiple of the pack step"),
        (D(1), [Line("a", D("4.5"))], "multiple of the pack step"),
        (D(1), [Line("a", D(4)), Line("a", D(2))], "share a line_id"),
        (D(-1), [Line("a", D(4))], ">= 0"),
        (D(1), [], "more than the quantity confirmed"),
    ],
)
def test_refuses_bad_input(shortfall: Decimal, lines: list[Line], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        share_shortfall(shortfall, lines, step=D(1))


@st.composite
def shortages(draw: st.DrawFn) -> tuple[Decimal, list[Line], Decimal]:
    step = draw(st.sampled_from([D(1), D("0.5"), D(12), D("0.001")]))
    ids = draw(st.lists(st.text("abcdef", min_size=1, max_size=3), max_size=8, unique=True))
    lines = [Line(i, draw(st.integers(0, 60)) * step) for i in ids]
    total = sum(int(line.confirmed / step) for line in lines)
    return draw(st.integers(0, total)) * step, lines, step


@PROPERTY
@given(shortages(), st.data())
def test_cuts_are_exact_bounded_in_steps_and_order_free(
    case: tuple[Decimal, list[Line], Decimal], data: st.DataObject
) -> None:
    shortfall, lines, step = case
    result = share_shortfall(shortfall, lines, step=step)
    assert [c.line_id for c in result] == sorted(line.line_id for line in lines)
    assert sum((c.quantity for c in result), D(0)) == shortfall
    confirmed = {line.line_id: line.confirmed for line in lines}
    whole = sum(confirmed.values(), D(0))
    for cut in result:
        assert D(0) <= cut.quantity <= confirmed[cut.line_id]
        assert cut.quantity + cut.remaining == confirmed[cut.line_id]
        assert cut.quantity % step == 0
        if whole:  # Hamilton: the floor or the ceiling of the exact quota
            quota = Fraction(shortfall) * Fraction(confirmed[cut.line_id]) / Fraction(whole)
            assert abs(Fraction(cut.quantity) - quota) < Fraction(step)
    shuffled = data.draw(st.permutations(lines))
    assert share_shortfall(shortfall, list(shuffled), step=step) == result

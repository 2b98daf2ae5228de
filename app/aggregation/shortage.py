"""Shortage allocation: share what could not be delivered among the buyer lines it affects.

Pure: plain dataclasses in and out. When goods are missing at the collection centre (and
the other suppliers' accepted surplus did not cover them), every buyer line of the SKU loses
a part of its confirmed quantity, in proportion to what it was confirmed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.aggregation.types import check_quantity, check_step, exact_steps, quantity_of
from app.core.money import split_largest_remainder


@dataclass(frozen=True)
class Line:
    """A buyer line and the quantity confirmed to it at the close of the cycle."""

    line_id: str
    confirmed: Decimal


@dataclass(frozen=True)
class Cut:
    """How much a line loses (``quantity``) and what it still gets (``remaining``)."""

    line_id: str
    quantity: Decimal
    remaining: Decimal


def share_shortfall(shortfall: Decimal, lines: Sequence[Line], *, step: Decimal) -> list[Cut]:
    """Cut ``shortfall`` from ``lines`` in proportion to their confirmed quantities.

    Named rule: Hamilton's largest remainder in whole pack steps. Each line first loses the
    whole steps of its exact proportional share; the steps left over go one each to the
    largest fractional parts, ties to the smaller ``line_id``. The cuts sum exactly to
    ``shortfall``, are multiples of ``step``, and never exceed a line's confirmed quantity
    (a quota is at most the line's steps, so rounding it up never passes them).

    ``shortfall`` and every confirmed quantity must be multiples of ``step`` and the
    shortfall at most the total confirmed; ``ValueError`` otherwise, as for duplicate line
    ids. One ``Cut`` per line, sorted by ``line_id`` whatever the input order.
    """
    check_step(step)
    check_quantity("shortfall", shortfall)
    ordered = sorted(lines, key=lambda line: line.line_id)
    ids = [line.line_id for line in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("two lines share a line_id")
    for line in ordered:
        check_quantity(f"confirmed quantity of {line.line_id}", line.confirmed)
    confirmed = [exact_steps(f"line {line.line_id}", line.confirmed, step) for line in ordered]
    missing = exact_steps("shortfall", shortfall, step)
    if missing > sum(confirmed):
        raise ValueError(f"shortfall {shortfall} is more than the quantity confirmed")
    cuts = split_largest_remainder(missing, confirmed)
    return [
        Cut(
            line_id=line.line_id,
            quantity=quantity_of(cut, step),
            remaining=quantity_of(units - cut, step),
        )
        for line, units, cut in zip(ordered, confirmed, cuts, strict=True)
    ]

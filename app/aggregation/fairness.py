"""Fairness of the income distribution among a network's associations.

The programmes Minga learns from track the Gini index of income across associations; the
network dashboard shows it, and ``simulate_season`` lets the policies be compared on the
same orders.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from app.aggregation.allocation import allocate
from app.aggregation.types import Offer, Policy
from app.core.money import cents_times

GINI_SCALE = Decimal("0.000001")


def gini(values: Sequence[int | Decimal]) -> Decimal:
    """The Gini index of non-negative ``values``: 0 is perfect equality, (n-1)/n the most
    unequal (one holds everything).

    Standard formula on the values sorted ascending, ``x_1 <= ... <= x_n``:
    ``G = 2 * sum(i * x_i) / (n * sum(x)) - (n + 1) / n``, computed exactly and rounded half
    up to 6 decimal places (the named rule). Empty input, or all values 0, gives 0.
    """
    exact = sorted(Fraction(v) for v in values)
    if any(v < 0 for v in exact):
        raise ValueError("the Gini index needs values >= 0")
    n, whole = len(exact), sum(exact, Fraction(0))
    if n == 0 or whole == 0:
        return Decimal(0).quantize(GINI_SCALE)
    ranked = sum((i * x for i, x in enumerate(exact, start=1)), Fraction(0))
    index = 2 * ranked / (n * whole) - Fraction(n + 1, n)
    quotient = Decimal(index.numerator) / Decimal(index.denominator)
    return quotient.quantize(GINI_SCALE, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class SeasonCycle:
    """One cycle of a simulated season: a SKU's demand and the offers made for it."""

    demand: Decimal
    offers: tuple[Offer, ...]


def simulate_season(
    cycles: Sequence[SeasonCycle],
    *,
    policy: Policy,
    step: Decimal,
    unit_value_cents: int,
    starting_income: Mapping[str, int] | None = None,
) -> dict[str, int]:
    """Producer income per association (cents) after allocating ``cycles`` in order.

    Each cycle is allocated with ``policy``, seeing the income earned so far; an
    association earns ``unit_value_cents`` per unit allocated (``cents_times``: rounded half
    up to the cent per allocation). Every association that offered, or had a starting
    income, appears in the result, sorted by association_id.
    """
    income = dict(starting_income or {})
    for cycle in cycles:
        for offer in cycle.offers:
            income.setdefault(offer.association_id, 0)
        for allocation in allocate(
            cycle.demand,
            cycle.offers,
            step=step,
            policy=policy,
            income=income,
            unit_value_cents=unit_value_cents,
        ):
            income[allocation.association_id] += cents_times(unit_value_cents, allocation.quantity)
    return dict(sorted(income.items()))

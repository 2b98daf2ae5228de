"""Fairness of the income distribution among a network's associations and their members.

The programmes Minga learns from track the Gini index of income across associations; the
networks exist for their members, mostly women, so the dashboard also shows it per member
(each member counted with her association's income per member). ``simulate_season`` lets
the policies be compared on the same orders (the dashboard's what-if, ``bench/fairness.py``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from app.aggregation.allocation import SkuDemand, allocate_cycle
from app.aggregation.types import DEFAULT_FLOOR_SHARE, Offer, Pin, Policy
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
    return _rounded(index)


def gini_per_member(income: Mapping[str, int | Decimal], members: Mapping[str, int]) -> Decimal:
    """The Gini index across the members of the associations in ``income``: each member
    holds her association's income divided by its members (``members``; missing or below 1
    counts as 1, like the allocation). Exactly the Gini of the list with one value per
    member, computed group by group: the members of a group hold the ranks ``c+1 … c+m``.
    """
    groups = sorted(
        (Fraction(value) / max(1, members.get(name, 1)), max(1, members.get(name, 1)))
        for name, value in income.items()
    )
    if any(value < 0 for value, _ in groups):
        raise ValueError("the Gini index needs values >= 0")
    n = sum(m for _, m in groups)
    whole = sum((value * m for value, m in groups), Fraction(0))
    if n == 0 or whole == 0:
        return Decimal(0).quantize(GINI_SCALE)
    ranked, seen = Fraction(0), 0
    for value, m in groups:
        ranked += value * (m * seen + Fraction(m * (m + 1), 2))
        seen += m
    return _rounded(2 * ranked / (n * whole) - Fraction(n + 1, n))


def counted_members(recorded: Mapping[str, int | None]) -> dict[str, int]:
    """The members each association counts for in ``per_member_equalizing`` and the
    per-member Gini: its ``members_total``; an association that has not recorded it (or
    recorded 0) counts as the mean of those that did, rounded half up (1 if none did), so
    that leaving it blank neither starves nor favours it."""
    known = [n for n in recorded.values() if n]
    mean = max(1, (2 * sum(known) + len(known)) // (2 * len(known))) if known else 1
    return {a: n if n else mean for a, n in sorted(recorded.items())}


def _rounded(index: Fraction) -> Decimal:
    quotient = Decimal(index.numerator) / Decimal(index.denominator)
    return quotient.quantize(GINI_SCALE, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class SeasonCycle:
    """One SKU of one cycle of a season: its demand and the offers made for it, and (when
    several SKUs are replayed) its pack step, producer price and the buyers' pins."""

    demand: Decimal
    offers: tuple[Offer, ...]
    step: Decimal | None = None  # the season's ``step`` when None
    unit_value_cents: int | None = None  # the season's ``unit_value_cents`` when None
    pins: tuple[Pin, ...] = ()
    # consecutive entries with the same ``cycle`` are the SKUs of one cycle, allocated
    # together (``allocate_cycle``); None: a cycle of its own
    cycle: int | None = None


def cycles_of(entries: Sequence[SeasonCycle]) -> list[list[SeasonCycle]]:
    """``entries`` grouped into cycles (consecutive entries with the same ``cycle``)."""
    groups: list[list[SeasonCycle]] = []
    for entry in entries:
        if groups and entry.cycle is not None and groups[-1][-1].cycle == entry.cycle:
            groups[-1].append(entry)
        else:
            groups.append([entry])
    return groups


def simulate_season(
    cycles: Sequence[SeasonCycle],
    *,
    policy: Policy,
    step: Decimal = Decimal(1),
    unit_value_cents: int = 1,
    starting_income: Mapping[str, int] | None = None,
    members: Mapping[str, int] | None = None,
    floor_share: Decimal = DEFAULT_FLOOR_SHARE,
) -> dict[str, int]:
    """Producer income per association (cents) after allocating ``cycles`` in order.

    Each cycle is allocated with ``policy``, seeing the income earned so far; an
    association earns the cycle's unit value per unit allocated (``cents_times``: rounded
    half up to the cent per allocation). Every association that offered, or had a starting
    income, appears in the result, sorted by association_id.
    """
    income = dict(starting_income or {})
    for group in cycles_of(cycles):
        skus = [
            SkuDemand(
                entry.demand,
                entry.offers,
                entry.step or step,
                entry.unit_value_cents or unit_value_cents,
                entry.pins,
            )
            for entry in group
        ]
        for entry in group:
            for offer in entry.offers:
                income.setdefault(offer.association_id, 0)
        results = allocate_cycle(
            skus, policy=policy, income=income, members=members, floor_share=floor_share
        )
        for sku, result in zip(skus, results, strict=True):
            for allocation in result:
                income[allocation.association_id] += cents_times(
                    sku.unit_value_cents, allocation.quantity
                )
    return dict(sorted(income.items()))

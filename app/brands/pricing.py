"""Volume tiers and the price breakdown of a unit price. Pure: plain data in and out.

Volume discounts come out of the logistics and brand margins, never out of the producer
price: a tier below the producer price is refused when the SKU is defined, and the
solidarity fund never eats into the producer's share.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from app.core.money import bps_of


@dataclass(frozen=True)
class Tier:
    min_quantity: Decimal
    unit_price_cents: int


@dataclass(frozen=True)
class Breakdown:
    unit_price_cents: int
    producer_cents: int
    logistics_cents: int
    network_cents: int
    solidarity_fund_cents: int

    def total(self) -> int:
        return (
            self.producer_cents
            + self.logistics_cents
            + self.network_cents
            + self.solidarity_fund_cents
        )


def tier_for(tiers: Sequence[Tier], volume: Decimal) -> Tier:
    """The tier reached by ``volume``: the one with the largest ``min_quantity`` <= volume."""
    reached = [t for t in tiers if t.min_quantity <= volume]
    if not reached:
        raise ValueError("no tier starts at zero")
    return max(reached, key=lambda t: t.min_quantity)


def tier_problems(tiers: Sequence[Tier], producer_price_cents: int) -> list[dict[str, str]]:
    """Every reason a set of tiers is not acceptable, as problem ``errors`` items."""
    errors: list[dict[str, str]] = []
    if not tiers:
        return [{"field": "tiers", "detail": "at least one tier is needed"}]
    if min(t.min_quantity for t in tiers) != 0:
        errors.append({"field": "tiers", "detail": "the first tier must start at quantity 0"})
    if len({t.min_quantity for t in tiers}) != len(tiers):
        errors.append({"field": "tiers", "detail": "two tiers start at the same quantity"})
    ordered = sorted(tiers, key=lambda t: t.min_quantity)
    for i, tier in enumerate(ordered):
        if tier.unit_price_cents < producer_price_cents:
            errors.append(
                {
                    "field": f"tiers[{tiers.index(tier)}].unit_price_cents",
                    "rule": "tier_below_producer_price",
                    "detail": (
                        f"{tier.unit_price_cents} is below the producer price "
                        f"{producer_price_cents}"
                    ),
                }
            )
        if i and tier.unit_price_cents > ordered[i - 1].unit_price_cents:
            errors.append(
                {
                    "field": f"tiers[{tiers.index(tier)}].unit_price_cents",
                    "detail": "a larger volume cannot cost more per unit",
                }
            )
    return errors


def breakdown(
    unit_price_cents: int,
    *,
    producer_price_cents: int,
    solidarity_fund_bps: int,
    logistics_share_bps: int,
) -> Breakdown:
    """Split a unit price into producer, logistics, network and fund; sums to the price.

    Named rules: the fund is ``solidarity_fund_bps`` of the unit price rounded half up, but
    never more than what is above the producer price; logistics gets
    ``logistics_share_bps`` of the remaining margin rounded half up; the network keeps the
    rest, so that the parts always add up to the cent.
    """
    if unit_price_cents < producer_price_cents:
        raise ValueError("a unit price below the producer price")
    above_producer = unit_price_cents - producer_price_cents
    fund = min(bps_of(unit_price_cents, solidarity_fund_bps), above_producer)
    margin = above_producer - fund
    logistics = bps_of(margin, logistics_share_bps)
    return Breakdown(
        unit_price_cents=unit_price_cents,
        producer_cents=producer_price_cents,
        logistics_cents=logistics,
        network_cents=margin - logistics,
        solidarity_fund_cents=fund,
    )

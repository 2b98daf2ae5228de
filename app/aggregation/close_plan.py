"""The plan of a cycle's close, computed from plain data: who supplies what (``allocate`` per
SKU, through ``allocate_cycle``, which lets ``per_member_equalizing`` see the whole cycle),
the final price of every SKU (the tier its total demand reaches), what every order finally
comes to, and which card holds are now too high.

Pure: no database, no clock. ``aggregation.service`` loads the rows, calls ``plan_close``
and stores the plan (through ``orders.lifecycle`` for the orders); ``bench/close_cycle.py``
measures the whole, and ``tests/aggregation/test_close_plan.py`` property-tests this part.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from app.aggregation import allocation as algo
from app.aggregation.types import DEFAULT_FLOOR_SHARE, Policy
from app.brands import pricing
from app.core.money import cents_times

CARD = "card"


class OrderRow(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def payment_method(self) -> str: ...
    @property
    def total_cents(self) -> int: ...


class LineRow(Protocol):
    @property
    def order_id(self) -> str: ...
    @property
    def sku_id(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def unit_price_cents(self) -> int: ...
    @property
    def preferred_association_id(self) -> str | None: ...


class OfferRow(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def sku_id(self) -> str: ...
    @property
    def association_id(self) -> str: ...
    @property
    def quantity(self) -> Decimal: ...
    @property
    def min_delivery(self) -> Decimal: ...
    @property
    def product_id(self) -> str: ...
    @property
    def product_version(self) -> int: ...


@dataclass(frozen=True)
class SkuTerms:
    pack_size: Decimal
    producer_price_cents: int
    tiers: Sequence[pricing.Tier]


@dataclass(frozen=True)
class PlannedAllocation:
    sku_id: str
    association_id: str
    offer_id: str
    quantity: Decimal
    pinned: Decimal
    minimum_waived: bool
    producer_price_cents: int
    product_id: str
    product_version: int


@dataclass
class ClosePlan:
    demand: dict[str, Decimal]
    allocations: list[PlannedAllocation]
    final_price: dict[str, int]
    final_totals: dict[str, int]
    # card orders whose hold is above their final amount: lowered after the commit
    lowered: list[tuple[str, int]] = field(default_factory=list)

    def delivery(self) -> dict[str, list[PlannedAllocation]]:
        """The allocations of each supplying association (its delivery order)."""
        return delivery_of(self.allocations)


def delivery_of(allocations: Sequence[PlannedAllocation]) -> dict[str, list[PlannedAllocation]]:
    """The allocations of each supplying association, by association_id."""
    out: dict[str, list[PlannedAllocation]] = defaultdict(list)
    for a in allocations:
        out[a.association_id].append(a)
    return dict(sorted(out.items()))


def demand_of(
    lines: Sequence[LineRow],
) -> tuple[dict[str, Decimal], dict[str, dict[str, Decimal]]]:
    """Each SKU's demand, and what of it buyers pinned to each association."""
    demand: dict[str, Decimal] = defaultdict(Decimal)
    pins: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for line in lines:
        demand[line.sku_id] += line.quantity
        if line.preferred_association_id:
            pins[line.sku_id][line.preferred_association_id] += line.quantity
    return dict(demand), {s: dict(p) for s, p in pins.items()}


def plan_allocations(
    demand: Mapping[str, Decimal],
    pins: Mapping[str, Mapping[str, Decimal]],
    offers: Sequence[OfferRow],
    skus: Mapping[str, SkuTerms],
    *,
    policy: Policy,
    income: Mapping[str, int] | None = None,
    members: Mapping[str, int] | None = None,
    floor_share: Decimal = DEFAULT_FLOOR_SHARE,
) -> tuple[list[PlannedAllocation], dict[str, int]]:
    """Who supplies what of each SKU's demand, and each SKU's final price: what the close
    needs of the lines is only their sums per SKU and pinned association."""
    sku_ids = sorted(demand)
    offers_of: dict[str, dict[str, OfferRow]] = defaultdict(dict)
    for offer in offers:
        offers_of[offer.sku_id][offer.id] = offer

    allocations: list[PlannedAllocation] = []
    results = algo.allocate_cycle(
        [
            algo.SkuDemand(
                demand[sku_id],
                [
                    algo.Offer(o.id, o.association_id, o.quantity, o.min_delivery)
                    for o in offers_of[sku_id].values()
                ],
                skus[sku_id].pack_size,
                skus[sku_id].producer_price_cents,
                [algo.Pin(a, q) for a, q in sorted(pins.get(sku_id, {}).items())],
            )
            for sku_id in sku_ids
        ],
        policy=policy,
        income=income,
        members=members,
        floor_share=floor_share,
    )
    for sku_id, result in zip(sku_ids, results, strict=True):
        sku, sku_offers = skus[sku_id], offers_of[sku_id]
        for share in result:
            if share.quantity <= 0:
                continue
            offer = sku_offers[share.offer_id]
            allocations.append(
                PlannedAllocation(
                    sku_id=sku_id,
                    association_id=share.association_id,
                    offer_id=share.offer_id,
                    quantity=share.quantity,
                    pinned=share.pinned,
                    minimum_waived=share.minimum_waived,
                    producer_price_cents=sku.producer_price_cents,
                    product_id=offer.product_id,
                    product_version=offer.product_version,
                )
            )
    final_price = {s: pricing.tier_for(skus[s].tiers, demand[s]).unit_price_cents for s in sku_ids}
    return allocations, final_price


def lowered_holds(
    orders: Sequence[OrderRow], final_totals: Mapping[str, int]
) -> list[tuple[str, int]]:
    """The card orders whose hold is above their final amount, with that amount."""
    return [
        (order.id, final_totals[order.id])
        for order in orders
        if order.payment_method == CARD and final_totals[order.id] < order.total_cents
    ]


def final_totals_of(
    orders: Sequence[OrderRow], lines: Sequence[LineRow], final_price: Mapping[str, int]
) -> dict[str, int]:
    """What every order finally comes to: its lines at their final prices."""
    final_totals = dict.fromkeys((order.id for order in orders), 0)
    amounts: dict[tuple[int, Decimal], int] = {}  # most lines share a price and a quantity
    for line in lines:
        # never above the price the buyer saw when ordering; each line rounded half up
        price = min(line.unit_price_cents, final_price[line.sku_id])
        if (price, line.quantity) not in amounts:
            amounts[price, line.quantity] = cents_times(price, line.quantity)
        final_totals[line.order_id] += amounts[price, line.quantity]
    return final_totals


def plan_close(
    orders: Sequence[OrderRow],
    lines: Sequence[LineRow],
    offers: Sequence[OfferRow],
    skus: Mapping[str, SkuTerms],
    *,
    policy: Policy,
    income: Mapping[str, int] | None = None,
    members: Mapping[str, int] | None = None,
    floor_share: Decimal = DEFAULT_FLOOR_SHARE,
) -> ClosePlan:
    demand, pins = demand_of(lines)
    allocations, final_price = plan_allocations(
        demand,
        pins,
        offers,
        skus,
        policy=policy,
        income=income,
        members=members,
        floor_share=floor_share,
    )
    final_totals = final_totals_of(orders, lines, final_price)
    lowered = lowered_holds(orders, final_totals)
    return ClosePlan(demand, allocations, final_price, final_totals, lowered)

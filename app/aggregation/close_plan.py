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
        out: dict[str, list[PlannedAllocation]] = defaultdict(list)
        for a in self.allocations:
            out[a.association_id].append(a)
        return dict(sorted(out.items()))


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
    demand: dict[str, Decimal] = defaultdict(Decimal)
    pins: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for line in lines:
        demand[line.sku_id] += line.quantity
        if line.preferred_association_id:
            pins[line.sku_id][line.preferred_association_id] += line.quantity
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
                [algo.Pin(a, q) for a, q in sorted(pins[sku_id].items())],
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
    final_totals = dict.fromkeys((order.id for order in orders), 0)
    amounts: dict[tuple[int, Decimal], int] = {}  # most lines share a price and a quantity
    for line in lines:
        # never above the price the buyer saw when ordering; each line rounded half up
        price = min(line.unit_price_cents, final_price[line.sku_id])
        if (price, line.quantity) not in amounts:
            amounts[price, line.quantity] = cents_times(price, line.quantity)
        final_totals[line.order_id] += amounts[price, line.quantity]
    lowered = [
        (order.id, final_totals[order.id])
        for order in orders
        if order.payment_method == CARD and final_totals[order.id] < order.total_cents
    ]
    return ClosePlan(dict(demand), allocations, final_price, final_totals, lowered)

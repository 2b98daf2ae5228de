"""The close plan (load → plan → store): properties of ``plan_close`` over random cycles."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.aggregation.close_plan import SkuTerms, plan_close
from app.aggregation.types import Policy
from app.brands.pricing import Tier
from app.core.money import cents_times

PROPERTY = settings(max_examples=300, deadline=None)


@dataclass(frozen=True)
class Ord:
    id: str
    payment_method: str
    total_cents: int


@dataclass(frozen=True)
class Ln:
    order_id: str
    sku_id: str
    quantity: Decimal
    unit_price_cents: int
    preferred_association_id: str | None = None


@dataclass(frozen=True)
class Off:
    id: str
    sku_id: str
    association_id: str
    quantity: Decimal
    min_delivery: Decimal = Decimal(0)
    product_id: str = "p"
    product_version: int = 1


@st.composite
def cycles(draw: st.DrawFn) -> tuple[list[Ord], list[Ln], list[Off], dict[str, SkuTerms], Policy]:
    sku_ids = [f"s{i}" for i in range(draw(st.integers(1, 3)))]
    skus = {}
    offers: list[Off] = []
    for sku_id in sku_ids:
        producer = draw(st.integers(100, 500))
        base = producer + draw(st.integers(0, 300))
        lower = draw(st.integers(producer, base))
        skus[sku_id] = SkuTerms(
            Decimal(draw(st.sampled_from(["1", "0.5", "6"]))),
            producer,
            [Tier(Decimal(0), base), Tier(Decimal(draw(st.integers(5, 60))), lower)],
        )
        for a in range(draw(st.integers(1, 4))):
            steps = draw(st.integers(0, 20))
            offers.append(Off(f"{sku_id}-o{a}", sku_id, f"a{a}", steps * skus[sku_id].pack_size))
    supply = defaultdict(Decimal)
    for offer in offers:
        supply[offer.sku_id] += offer.quantity
    orders: list[Ord] = []
    lines: list[Ln] = []
    taken = defaultdict(Decimal)
    for n in range(draw(st.integers(0, 8))):
        order_id = f"o{n}"
        total = 0
        for sku_id in draw(st.lists(st.sampled_from(sku_ids), unique=True, max_size=3)):
            step = skus[sku_id].pack_size
            room = int((supply[sku_id] - taken[sku_id]) / step)
            if room <= 0:
                continue
            quantity = draw(st.integers(1, room)) * step
            taken[sku_id] += quantity
            price = skus[sku_id].tiers[0].unit_price_cents
            lines.append(Ln(order_id, sku_id, quantity, price))
            total += cents_times(price, quantity)
        orders.append(Ord(order_id, draw(st.sampled_from(["card", "invoice"])), total))
    policy = draw(st.sampled_from(list(Policy)))
    return orders, lines, offers, skus, policy


@PROPERTY
@given(cycles())
def test_the_plan_supplies_the_demand_within_offers_at_no_higher_prices(
    cycle: tuple[list[Ord], list[Ln], list[Off], dict[str, SkuTerms], Policy],
) -> None:
    orders, lines, offers, skus, policy = cycle
    plan = plan_close(orders, lines, offers, skus, policy=policy, income={})
    # every SKU's demand is allocated exactly, in packs, never above an offer
    allocated = defaultdict(Decimal)
    capacity = {o.id: o.quantity for o in offers}
    for a in plan.allocations:
        assert 0 < a.quantity <= capacity[a.offer_id]
        assert a.quantity % skus[a.sku_id].pack_size == 0
        allocated[a.sku_id] += a.quantity
    for sku_id, demand in plan.demand.items():
        assert allocated[sku_id] == demand
        assert demand == sum((x.quantity for x in lines if x.sku_id == sku_id), Decimal(0))
    # final prices never above what a buyer was shown; totals follow line by line
    for order in orders:
        mine = [x for x in lines if x.order_id == order.id]
        expected = sum(
            cents_times(min(x.unit_price_cents, plan.final_price[x.sku_id]), x.quantity)
            for x in mine
        )
        assert plan.final_totals[order.id] == expected <= order.total_cents
    # only card holds above the final amount are lowered, to exactly the final amount
    assert plan.lowered == [
        (o.id, plan.final_totals[o.id])
        for o in orders
        if o.payment_method == "card" and plan.final_totals[o.id] < o.total_cents
    ]
    # each association's delivery order is its allocations
    delivery = plan.delivery()
    assert sum(len(v) for v in delivery.values()) == len(plan.allocations)


@PROPERTY
@given(cycles())
def test_the_plan_is_deterministic(
    cycle: tuple[list[Ord], list[Ln], list[Off], dict[str, SkuTerms], Policy],
) -> None:
    orders, lines, offers, skus, policy = cycle
    first = plan_close(orders, lines, offers, skus, policy=policy, income={})
    again = plan_close(orders, lines[::-1], offers[::-1], skus, policy=policy, income={})
    assert sorted(first.allocations, key=repr) == sorted(again.allocations, key=repr)
    assert (first.final_price, first.final_totals) == (again.final_price, again.final_totals)

"""Closing a cycle: the thin service around the pure allocation algorithms.

It loads the cycle's orders and offers, calls ``allocation.allocate`` for each SKU, and writes
allocations, confirmed lines at their final prices and one delivery order per supplying
association, all in the transaction that moved the cycle to ``closed``. Card holds that are
now above the final amount are lowered after the commit, so no provider call is made while
rows are locked. ``bench/close_cycle.py`` measures it (docs/bench-close-cycle.md).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.aggregation import allocation as algo
from app.aggregation.models import (
    Allocation,
    DeliveryOrder,
    DeliveryOrderLine,
    DeliveryOrderStatus,
)
from app.aggregation.schemas import (
    CloseResult,
    SkuClose,
)
from app.aggregation.types import Policy
from app.brands import pricing
from app.brands.models import BrandSku, SkuSupplier
from app.brands.skus import tiers_of
from app.core.config import Settings
from app.core.db import after_commit, create_sessionmaker, transaction
from app.core.ids import new_id
from app.core.metrics import CYCLES_CLOSED
from app.core.money import cents_times
from app.core.timeutil import utcnow
from app.orders import cycles
from app.orders.exceptions import CycleNotFound, CycleNotOpen
from app.orders.models import (
    CycleStatus,
    Offer,
    Order,
    OrderCycle,
    OrderLine,
    OrderStatus,
    PaymentMethod,
)
from app.payments import service as payments

log = logging.getLogger(__name__)


async def close_cycle(
    session: AsyncSession,
    settings: Settings,
    cycle_id: str,
    *,
    now: datetime,
    actor: Principal | None,
) -> OrderCycle:
    """Close the cycle and aggregate it, once: a second close changes nothing."""
    cycle = await cycles.get_cycle(session, cycle_id)
    if actor is not None:
        actor.require_member(cycle.network_id, Role.admin, not_found=CycleNotFound)
    if cycle.status in (CycleStatus.closed, CycleStatus.settled):
        return cycle
    if cycle.status != CycleStatus.open:
        raise CycleNotOpen(f"A {cycle.status} cycle cannot be closed")
    if await cycles.transition(session, cycle.id, CycleStatus.open, CycleStatus.closed, now):
        await aggregate(session, cycle, settings=settings)
        after_commit(session, _count_close)
    await session.refresh(cycle)
    return cycle


async def _count_close() -> None:
    CYCLES_CLOSED.inc()


def _table(model: Any) -> Any:
    return model.__table__


# Closing reads and writes tens of thousands of rows in one transaction: plain rows, Core
# executemany and set-based UPDATEs, no ORM objects (and no identity map to fill).
_allocations = _table(Allocation)
_cycles = _table(OrderCycle)
_delivery_lines = _table(DeliveryOrderLine)
_delivery_orders = _table(DeliveryOrder)
_lines = _table(OrderLine)
_offers = _table(Offer)
_orders = _table(Order)
_skus = _table(BrandSku)
_suppliers = _table(SkuSupplier)
# SQLite allows at most 500 terms in a compound SELECT (see _confirm_lines)
_PRICES_PER_STATEMENT = 250


async def _season_income(session: AsyncSession, cycle: OrderCycle) -> dict[str, int]:
    """Producer income of each association in the network's closed cycles this year.

    Each allocation is rounded to the cent on its own; identical ones are counted in SQL.
    """
    start = date(cycle.delivery_date.year, 1, 1)
    a, c = _allocations, _cycles
    rows = await session.execute(
        sa.select(a.c.association_id, a.c.producer_price_cents, a.c.quantity, sa.func.count())
        .join(c, c.c.id == a.c.cycle_id)
        .where(c.c.network_id == cycle.network_id, c.c.delivery_date >= start, c.c.id != cycle.id)
        .group_by(a.c.association_id, a.c.producer_price_cents, a.c.quantity)
    )
    income: dict[str, int] = defaultdict(int)
    for association_id, price, quantity, count in rows:
        income[association_id] += cents_times(price, quantity) * count
    return dict(income)


async def _load(session: AsyncSession, cycle: OrderCycle) -> tuple[list[Any], list[Any], list[Any]]:
    """The cycle's placed orders, their lines, and its offers with their supplying sheets."""
    o, ln, of, sup = _orders, _lines, _offers, _suppliers
    placed = (o.c.cycle_id == cycle.id, o.c.status == OrderStatus.placed)
    orders = await session.execute(
        sa.select(o.c.id, o.c.payment_method, o.c.total_cents).where(*placed)
    )
    lines = await session.execute(
        sa.select(ln.c.order_id, ln.c.sku_id, ln.c.quantity, ln.c.unit_price_cents,
                  ln.c.preferred_association_id)
        .join(o, o.c.id == ln.c.order_id)
        .where(*placed)
    )  # fmt: skip
    offers = await session.execute(
        sa.select(of.c.id, of.c.sku_id, of.c.association_id, of.c.quantity, of.c.min_delivery,
                  sup.c.product_id, sup.c.product_version)
        .join(sup, sup.c.id == of.c.supplier_id)
        .where(of.c.cycle_id == cycle.id, of.c.quantity > 0)
    )  # fmt: skip
    return list(orders), list(lines), list(offers)


def _confirm_lines(cycle_id: str, final_price: dict[str, int], sku_ids: Sequence[str]) -> Any:
    """Confirm the lines of the cycle's confirmed orders at ``min(unit price, final price)``.

    One ``UPDATE … FROM`` joined to a small table of the SKUs' final prices (PostgreSQL;
    SQLite >= 3.33): the lines are found once through the cycle's orders, not once per SKU.
    """
    ln, o = _lines, _orders
    prices = sa.union_all(
        *(
            sa.select(
                sa.literal(s, sa.String).label("sku_id"),
                sa.literal(final_price[s], sa.Integer).label("price"),
            )
            for s in sku_ids
        )
    ).subquery("final_prices")
    confirmed = sa.select(o.c.id).where(
        o.c.cycle_id == cycle_id, o.c.status == OrderStatus.confirmed
    )
    return (
        sa.update(ln)
        .where(ln.c.sku_id == prices.c.sku_id, ln.c.order_id.in_(confirmed))
        .values(
            confirmed_quantity=ln.c.quantity,
            final_unit_price_cents=sa.case(
                (ln.c.unit_price_cents < prices.c.price, ln.c.unit_price_cents),
                else_=prices.c.price,
            ),
        )
    )


async def aggregate(
    session: AsyncSession,
    cycle: OrderCycle,
    *,
    settings: Settings,
) -> None:
    orders, lines, offers = await _load(session, cycle)
    demand: dict[str, Decimal] = defaultdict(Decimal)
    pins: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for line in lines:
        demand[line.sku_id] += line.quantity
        if line.preferred_association_id:
            pins[line.sku_id][line.preferred_association_id] += line.quantity
    sku_ids = sorted(demand)
    skus = {
        s.id: s
        for s in await session.execute(
            sa.select(_skus.c.id, _skus.c.pack_size, _skus.c.producer_price_cents).where(
                _skus.c.id.in_(sku_ids)
            )
        )
    }
    tiers = await tiers_of(session, sku_ids)
    policy = Policy(cycle.allocation_policy)
    income = await _season_income(session, cycle) if policy is Policy.income_equalizing else None

    offers_of: dict[str, dict[str, Any]] = defaultdict(dict)
    for offer in offers:
        offers_of[offer.sku_id][offer.id] = offer
    created = utcnow()
    allocations: list[dict[str, Any]] = []
    delivery: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for sku_id in sku_ids:
        sku, sku_offers = skus[sku_id], offers_of[sku_id]
        result = algo.allocate(
            demand[sku_id],
            [
                algo.Offer(o.id, o.association_id, o.quantity, o.min_delivery)
                for o in sku_offers.values()
            ],
            step=sku.pack_size,
            policy=policy,
            pinned=[algo.Pin(a, q) for a, q in sorted(pins[sku_id].items())],
            income=income,
            unit_value_cents=sku.producer_price_cents,
        )
        for share in result:
            if share.quantity <= 0:
                continue
            offer = sku_offers[share.offer_id]
            goods = {
                "sku_id": sku_id,
                "quantity": share.quantity,
                "producer_price_cents": sku.producer_price_cents,
                "product_id": offer.product_id,
                "product_version": offer.product_version,
            }
            allocations.append(
                {
                    **goods,
                    "id": new_id(),
                    "cycle_id": cycle.id,
                    "association_id": share.association_id,
                    "offer_id": share.offer_id,
                    "pinned": share.pinned,
                    "minimum_waived": share.minimum_waived,
                    "created_at": created,
                }
            )
            delivery[share.association_id].append(goods)

    final_price = {s: pricing.tier_for(tiers[s], demand[s]).unit_price_cents for s in sku_ids}
    final_total = dict.fromkeys((order.id for order in orders), 0)
    amounts: dict[tuple[int, Decimal], int] = {}  # most lines share a price and a quantity
    for line in lines:
        # never above the price the buyer saw when ordering; each line rounded half up
        price = min(line.unit_price_cents, final_price[line.sku_id])
        if (price, line.quantity) not in amounts:
            amounts[price, line.quantity] = cents_times(price, line.quantity)
        final_total[line.order_id] += amounts[price, line.quantity]
    lowered = [
        (order.id, final_total[order.id])
        for order in orders
        if order.payment_method == PaymentMethod.card and final_total[order.id] < order.total_cents
    ]
    if orders:  # ORM bulk UPDATE by primary key: one executemany
        await session.execute(
            sa.update(Order),
            [
                {"id": order_id, "status": OrderStatus.confirmed, "final_total_cents": total}
                for order_id, total in final_total.items()
            ],
        )
    # then the lines of exactly these orders (the only confirmed ones of a closing cycle)
    for start in range(0, len(sku_ids), _PRICES_PER_STATEMENT):
        chunk = sku_ids[start : start + _PRICES_PER_STATEMENT]
        await session.execute(_confirm_lines(cycle.id, final_price, chunk))
    if allocations:
        await session.execute(sa.insert(_allocations), allocations)
    delivery_orders: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "cycle_id": cycle.id,
            "association_id": association_id,
            "collection_centre_id": cycle.collection_centre_id,
            "status": DeliveryOrderStatus.open,
            "created_at": created,
        }
        for association_id in sorted(delivery)
    ]
    if delivery_orders:
        await session.execute(sa.insert(_delivery_orders), delivery_orders)
        await session.execute(
            sa.insert(_delivery_lines),
            [
                {**goods, "id": new_id(), "delivery_order_id": d["id"]}
                for d in delivery_orders
                for goods in delivery[d["association_id"]]
            ],
        )
    cycles.event(
        session,
        "cycle.aggregated",
        cycle_id=cycle.id,
        orders=len(orders),
        skus={s: str(demand[s]) for s in sku_ids},
        delivery_orders=len(delivery),
    )
    await session.flush()

    if lowered:
        assert isinstance(session.bind, AsyncEngine)
        sessionmaker = create_sessionmaker(session.bind)

        async def lower_holds() -> None:
            for order_id, amount in lowered:
                try:
                    async with transaction(sessionmaker) as tx:
                        await payments.change_amount(
                            tx, settings, order_id=order_id, amount_cents=amount
                        )
                except Exception:
                    log.exception("lowering the hold of order %s failed", order_id)

        after_commit(session, lower_holds)


async def close_result(session: AsyncSession, cycle: OrderCycle) -> CloseResult:
    """The demand and final price of every SKU of a closed cycle, from what was stored."""
    ln = _lines
    rows = await session.execute(
        sa.select(ln.c.sku_id, ln.c.confirmed_quantity, sa.func.count())
        .join(_orders, _orders.c.id == ln.c.order_id)
        .where(_orders.c.cycle_id == cycle.id, ln.c.confirmed_quantity.is_not(None))
        .group_by(ln.c.sku_id, ln.c.confirmed_quantity)
    )
    demand: dict[str, Decimal] = defaultdict(Decimal)
    for sku_id, quantity, count in rows:
        demand[sku_id] += quantity * count
    tiers = await tiers_of(session, sorted(demand))
    return CloseResult(
        id=cycle.id,
        status=cycle.status,
        closed_at=cycle.closed_at,
        skus=[
            SkuClose(
                sku_id=sku_id,
                demand=demand[sku_id],
                final_unit_price_cents=pricing.tier_for(
                    tiers[sku_id], demand[sku_id]
                ).unit_price_cents,
            )
            for sku_id in sorted(demand)
        ],
    )


@cycles.on_cut_off
async def _close_at_cut_off(
    session: AsyncSession, settings: Settings, cycle: OrderCycle, now: datetime
) -> None:
    await close_cycle(session, settings, cycle.id, now=now, actor=None)

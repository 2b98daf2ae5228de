"""Closing a cycle: the thin service around the pure allocation algorithms.

It loads the cycle's orders and offers, calls ``allocation.allocate`` for each SKU, and writes
allocations, confirmed lines at their final prices and one delivery order per supplying
association, all in the transaction that moved the cycle to ``closed``. Card holds that are
now above the final amount are lowered after the commit, so no provider call is made while
rows are locked.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlmodel import col, select

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.aggregation import allocation as algo
from app.aggregation.models import Allocation, DeliveryOrder, DeliveryOrderLine
from app.aggregation.schemas import (
    AllocationPublic,
    CloseResult,
    DeliveryLinePublic,
    DeliveryOrderPublic,
    SkuClose,
)
from app.aggregation.types import Policy
from app.brands import pricing
from app.brands.models import BrandSku, SkuSupplier
from app.brands.skus import tiers_of
from app.core.config import Settings
from app.core.db import after_commit, create_sessionmaker, transaction
from app.core.money import cents_times
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
from app.orders.pricing import total_cents
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
    await session.refresh(cycle)
    return cycle


async def _season_income(session: AsyncSession, cycle: OrderCycle) -> dict[str, int]:
    """Producer income of each association in the network's closed cycles this year."""
    start = date(cycle.delivery_date.year, 1, 1)
    rows = await session.scalars(
        select(Allocation)
        .join(OrderCycle, col(OrderCycle.id) == col(Allocation.cycle_id))
        .where(
            OrderCycle.network_id == cycle.network_id,
            col(OrderCycle.delivery_date) >= start,
            OrderCycle.id != cycle.id,
        )
    )
    income: dict[str, int] = defaultdict(int)
    for row in rows:
        income[row.association_id] += cents_times(row.producer_price_cents, row.quantity)
    return dict(income)


async def aggregate(
    session: AsyncSession,
    cycle: OrderCycle,
    *,
    settings: Settings,
) -> None:
    orders = (
        await session.scalars(
            select(Order).where(Order.cycle_id == cycle.id, Order.status == OrderStatus.placed)
        )
    ).all()
    by_order = {o.id: o for o in orders}
    lines = (
        await session.scalars(
            select(OrderLine)
            .where(col(OrderLine.order_id).in_(list(by_order)))
            .order_by(col(OrderLine.id))
        )
    ).all()
    offers = (
        await session.scalars(
            select(Offer).where(Offer.cycle_id == cycle.id, col(Offer.quantity) > 0)
        )
    ).all()
    sku_ids = sorted({line.sku_id for line in lines})
    skus = {
        s.id: s
        for s in await session.scalars(select(BrandSku).where(col(BrandSku.id).in_(sku_ids)))
    }
    tiers = await tiers_of(session, sku_ids)
    suppliers = {
        s.id: s
        for s in await session.scalars(
            select(SkuSupplier).where(col(SkuSupplier.id).in_([o.supplier_id for o in offers]))
        )
    }
    policy = Policy(cycle.allocation_policy)
    income = await _season_income(session, cycle) if policy is Policy.income_equalizing else None

    demand: dict[str, Decimal] = defaultdict(Decimal)
    pins: dict[str, dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for line in lines:
        demand[line.sku_id] += line.quantity
        if line.preferred_association_id:
            pins[line.sku_id][line.preferred_association_id] += line.quantity

    delivery: dict[str, list[DeliveryOrderLine]] = defaultdict(list)
    for sku_id in sku_ids:
        sku = skus[sku_id]
        sku_offers = {o.id: o for o in offers if o.sku_id == sku_id}
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
            supplier = suppliers[sku_offers[share.offer_id].supplier_id]
            session.add(
                Allocation(
                    cycle_id=cycle.id,
                    sku_id=sku_id,
                    association_id=share.association_id,
                    offer_id=share.offer_id,
                    quantity=share.quantity,
                    pinned=share.pinned,
                    producer_price_cents=sku.producer_price_cents,
                    product_id=supplier.product_id,
                    product_version=supplier.product_version,
                    minimum_waived=share.minimum_waived,
                )
            )
            delivery[share.association_id].append(
                DeliveryOrderLine(
                    delivery_order_id="",
                    sku_id=sku_id,
                    quantity=share.quantity,
                    producer_price_cents=sku.producer_price_cents,
                    product_id=supplier.product_id,
                    product_version=supplier.product_version,
                )
            )

    final_price = {s: pricing.tier_for(tiers[s], demand[s]).unit_price_cents for s in sku_ids}
    lines_of: dict[str, list[OrderLine]] = defaultdict(list)
    for line in lines:
        # never above the price the buyer saw when ordering
        line.final_unit_price_cents = min(line.unit_price_cents, final_price[line.sku_id])
        line.confirmed_quantity = line.quantity
        lines_of[line.order_id].append(line)
    lowered: list[tuple[str, int]] = []
    for order in orders:
        order.status = OrderStatus.confirmed
        order.final_total_cents = total_cents(
            (line.final_unit_price_cents or 0, line.quantity) for line in lines_of[order.id]
        )
        if (
            order.payment_method == PaymentMethod.card
            and order.final_total_cents < order.total_cents
        ):
            lowered.append((order.id, order.final_total_cents))

    for association_id in sorted(delivery):
        delivery_order = DeliveryOrder(
            cycle_id=cycle.id,
            association_id=association_id,
            collection_centre_id=cycle.collection_centre_id,
        )
        session.add(delivery_order)
        for dl in delivery[association_id]:
            dl.delivery_order_id = delivery_order.id
            session.add(dl)
    await session.flush()
    cycles.event(
        session,
        "cycle.aggregated",
        cycle_id=cycle.id,
        orders=len(orders),
        skus={s: str(demand[s]) for s in sku_ids},
        delivery_orders=len(delivery),
    )

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
    rows = await session.execute(
        select(OrderLine)
        .join(Order, col(Order.id) == col(OrderLine.order_id))
        .where(Order.cycle_id == cycle.id, col(OrderLine.confirmed_quantity).is_not(None))
    )
    demand: dict[str, Decimal] = defaultdict(Decimal)
    for line in rows.scalars():
        demand[line.sku_id] += line.confirmed_quantity or Decimal(0)
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


def _sees_everything(principal: Principal, cycle: OrderCycle) -> bool:
    return principal.is_member(cycle.network_id)


async def list_allocations(
    session: AsyncSession, principal: Principal, cycle_id: str
) -> list[AllocationPublic]:
    """The network sees every allocation; an association sees its own."""
    cycle = await cycles.get_cycle(session, cycle_id)
    stmt = select(Allocation).where(Allocation.cycle_id == cycle.id)
    if not _sees_everything(principal, cycle):
        stmt = stmt.where(col(Allocation.association_id).in_(list(principal.roles)))
    rows = await session.scalars(
        stmt.order_by(col(Allocation.sku_id), col(Allocation.association_id))
    )
    return [AllocationPublic.model_validate(r, from_attributes=True) for r in rows]


async def delivery_order_publics(
    session: AsyncSession, rows: Sequence[DeliveryOrder]
) -> list[DeliveryOrderPublic]:
    lines: dict[str, list[DeliveryLinePublic]] = {d.id: [] for d in rows}
    for line in await session.scalars(
        select(DeliveryOrderLine)
        .where(col(DeliveryOrderLine.delivery_order_id).in_(list(lines)))
        .order_by(col(DeliveryOrderLine.sku_id))
    ):
        lines[line.delivery_order_id].append(
            DeliveryLinePublic.model_validate(line, from_attributes=True)
        )
    return [
        DeliveryOrderPublic(
            id=d.id,
            cycle_id=d.cycle_id,
            association_id=d.association_id,
            collection_centre_id=d.collection_centre_id,
            status=d.status,
            lines=lines[d.id],
        )
        for d in rows
    ]


async def list_delivery_orders(
    session: AsyncSession, principal: Principal, cycle_id: str
) -> list[DeliveryOrderPublic]:
    """The network and the collection centre see all; an association sees its own."""
    cycle = await cycles.get_cycle(session, cycle_id)
    stmt = select(DeliveryOrder).where(DeliveryOrder.cycle_id == cycle.id)
    if not (_sees_everything(principal, cycle) or principal.is_member(cycle.collection_centre_id)):
        stmt = stmt.where(col(DeliveryOrder.association_id).in_(list(principal.roles)))
    rows = (await session.scalars(stmt.order_by(col(DeliveryOrder.association_id)))).all()
    return await delivery_order_publics(session, rows)


@cycles.on_cut_off
async def _close_at_cut_off(
    session: AsyncSession, settings: Settings, cycle: OrderCycle, now: datetime
) -> None:
    await close_cycle(session, settings, cycle.id, now=now, actor=None)

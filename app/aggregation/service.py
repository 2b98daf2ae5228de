"""Closing a cycle: load → plan → store around the pure ``close_plan``.

It loads the cycle's orders and offers, plans the close (``allocation.allocate`` for each
SKU, final prices, final totals), and stores allocations, the orders confirmed at their final
prices (through ``orders.lifecycle``) and one delivery order per supplying association, all
in the transaction that moved the cycle to ``closed``. Card holds that are
now above the final amount are lowered after the commit, so no provider call is made while
rows are locked. ``bench/close_cycle.py`` measures it (docs/bench-close-cycle.md).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.accounts.models import Organization, Role
from app.accounts.principal import Principal
from app.aggregation.allocation import INCOME_POLICIES
from app.aggregation.close_plan import (
    SkuTerms,
    delivery_of,
    demand_of,
    final_totals_of,
    lowered_holds,
    plan_allocations,
)
from app.aggregation.fairness import counted_members
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
from app.brands import names, pricing
from app.brands.models import BrandSku, SkuSupplier
from app.brands.skus import tiers_of
from app.core.config import Settings
from app.core.db import after_commit, create_sessionmaker, insert_rows
from app.core.i18n import _l
from app.core.ids import new_id
from app.core.metrics import CYCLES_CLOSED
from app.core.money import cents_times
from app.core.timeutil import utcnow
from app.orders import cycles, lifecycle
from app.orders.exceptions import CycleNotFound, CycleNotOpen
from app.orders.models import (
    CycleStatus,
    Offer,
    Order,
    OrderCycle,
    OrderLine,
    OrderStatus,
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
    if cycle.status in (CycleStatus.closed, CycleStatus.settling, CycleStatus.settled):
        return cycle
    if cycle.status != CycleStatus.open:
        raise CycleNotOpen(_l("A {status} cycle cannot be closed", status=cycle.status))
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
_organizations = _table(Organization)
_orders = _table(Order)
_skus = _table(BrandSku)
_suppliers = _table(SkuSupplier)


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


async def members_of(session: AsyncSession, association_ids: set[str]) -> dict[str, int]:
    """The members each association counts for (``fairness.counted_members``)."""
    rows = await session.execute(
        sa.select(_organizations.c.id, _organizations.c.members_total).where(
            _organizations.c.id.in_(sorted(association_ids))
        )
    )
    return counted_members(dict(rows.all()))


def _placed(cycle: OrderCycle) -> tuple[Any, ...]:
    return (_orders.c.cycle_id == cycle.id, _orders.c.status == OrderStatus.placed)


async def _load_lines(session: AsyncSession, cycle: OrderCycle) -> tuple[list[Any], list[Any]]:
    """The cycle's placed orders and their lines (the portable close)."""
    o, ln = _orders, _lines
    orders = await session.execute(
        sa.select(o.c.id, o.c.payment_method, o.c.total_cents).where(*_placed(cycle))
    )
    lines = await session.execute(
        sa.select(ln.c.order_id, ln.c.sku_id, ln.c.quantity, ln.c.unit_price_cents,
                  ln.c.preferred_association_id)
        .join(o, o.c.id == ln.c.order_id)
        .where(*_placed(cycle))
    )  # fmt: skip
    return list(orders), list(lines)


async def _demand_in_sql(
    session: AsyncSession, cycle: OrderCycle
) -> tuple[dict[str, Decimal], dict[str, dict[str, Decimal]]]:
    """``close_plan.demand_of`` summed by PostgreSQL (exact numeric sums): a few thousand
    rows instead of every line of the cycle."""
    o, ln = _orders, _lines
    rows = await session.execute(
        sa.select(ln.c.sku_id, ln.c.preferred_association_id, sa.func.sum(ln.c.quantity))
        .join(o, o.c.id == ln.c.order_id)
        .where(*_placed(cycle))
        .group_by(ln.c.sku_id, ln.c.preferred_association_id)
    )
    demand: dict[str, Decimal] = defaultdict(Decimal)
    pins: dict[str, dict[str, Decimal]] = defaultdict(dict)
    for sku_id, association_id, quantity in rows:
        demand[sku_id] += quantity
        if association_id is not None:
            pins[sku_id][association_id] = quantity
    return dict(demand), dict(pins)


async def _offers_of(session: AsyncSession, cycle: OrderCycle) -> list[Any]:
    """The cycle's offers with their supplying sheets."""
    of, sup = _offers, _suppliers
    offers = await session.execute(
        sa.select(of.c.id, of.c.sku_id, of.c.association_id, of.c.quantity, of.c.min_delivery,
                  sup.c.product_id, sup.c.product_version)
        .join(sup, sup.c.id == of.c.supplier_id)
        .where(of.c.cycle_id == cycle.id, of.c.quantity > 0)
    )  # fmt: skip
    return list(offers)


async def aggregate(
    session: AsyncSession,
    cycle: OrderCycle,
    *,
    settings: Settings,
) -> None:
    # On PostgreSQL the lines never leave the server: their sums per SKU come in, their
    # final prices and the orders' totals are written by SQL (``confirm_at_close_in_sql``).
    in_sql = session.get_bind().dialect.name == "postgresql"
    if in_sql:
        demand, pins = await _demand_in_sql(session, cycle)
    else:
        orders, lines = await _load_lines(session, cycle)
        demand, pins = demand_of(lines)
    offers = await _offers_of(session, cycle)
    sku_ids = sorted(demand)
    tiers = await tiers_of(session, sku_ids)
    skus = {
        s.id: SkuTerms(s.pack_size, s.producer_price_cents, tiers[s.id])
        for s in await session.execute(
            sa.select(_skus.c.id, _skus.c.pack_size, _skus.c.producer_price_cents).where(
                _skus.c.id.in_(sku_ids)
            )
        )
    }
    policy = Policy(cycle.allocation_policy)
    income = await _season_income(session, cycle) if policy in INCOME_POLICIES else None
    members = None
    if policy is Policy.per_member_equalizing:
        members = await members_of(session, {o.association_id for o in offers})
    planned, final_price = plan_allocations(
        demand,
        pins,
        offers,
        skus,
        policy=policy,
        income=income,
        members=members,
        floor_share=Decimal(cycle.allocation_floor_percent) / 100,
    )
    # the orders and their lines change only through their lifecycle
    if in_sql:
        confirmed = await lifecycle.confirm_at_close_in_sql(
            session, cycle.id, final_price=final_price
        )
        orders_confirmed = len(confirmed)
        lowered = lowered_holds(confirmed, {o.id: o.final_total_cents for o in confirmed})
    else:
        final_totals = final_totals_of(orders, lines, final_price)
        await lifecycle.confirm_at_close(
            session, cycle.id, final_totals=final_totals, final_price=final_price
        )
        orders_confirmed = len(orders)
        lowered = lowered_holds(orders, final_totals)
    created = utcnow()
    await insert_rows(
        session,
        _allocations,
        [
            {
                "id": new_id(),
                "cycle_id": cycle.id,
                "sku_id": a.sku_id,
                "association_id": a.association_id,
                "offer_id": a.offer_id,
                "quantity": a.quantity,
                "pinned": a.pinned,
                "minimum_waived": a.minimum_waived,
                "producer_price_cents": a.producer_price_cents,
                "product_id": a.product_id,
                "product_version": a.product_version,
                "created_at": created,
            }
            for a in planned
        ],
    )
    delivery = delivery_of(planned)
    delivery_orders: list[dict[str, Any]] = [
        {
            "id": new_id(),
            "cycle_id": cycle.id,
            "association_id": association_id,
            "collection_centre_id": cycle.collection_centre_id,
            "status": DeliveryOrderStatus.open,
            "created_at": created,
        }
        for association_id in delivery
    ]
    await insert_rows(session, _delivery_orders, delivery_orders)
    await insert_rows(
        session,
        _delivery_lines,
        [
            {
                "id": new_id(),
                "delivery_order_id": d["id"],
                "sku_id": a.sku_id,
                "quantity": a.quantity,
                "producer_price_cents": a.producer_price_cents,
                "product_id": a.product_id,
                "product_version": a.product_version,
            }
            for d in delivery_orders
            for a in delivery[d["association_id"]]
        ],
    )
    cycles.event(
        session,
        "cycle.aggregated",
        cycle_id=cycle.id,
        orders=orders_confirmed,
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
                    await payments.change_amount(
                        sessionmaker, settings, order_id=order_id, amount_cents=amount
                    )
                except Exception:
                    log.exception("lowering the hold of order %s failed", order_id)

        after_commit(session, lower_holds)


async def close_result(session: AsyncSession, cycle: OrderCycle) -> CloseResult:
    """The demand and final price of every SKU of a closed cycle, as the close found them.

    Read from the allocations, which sum exactly to each SKU's demand and never change after
    the close (the lines' confirmed quantities do, when a shortfall cuts them): closing
    again answers what the first close answered."""
    a = _allocations
    rows = await session.execute(
        sa.select(a.c.sku_id, a.c.quantity, sa.func.count())
        .where(a.c.cycle_id == cycle.id)
        .group_by(a.c.sku_id, a.c.quantity)
    )
    demand: dict[str, Decimal] = defaultdict(Decimal)
    for sku_id, quantity, count in rows:
        demand[sku_id] += quantity * count
    tiers = await tiers_of(session, sorted(demand))
    sku_names = await names.skus(session, demand)
    return CloseResult(
        id=cycle.id,
        status=cycle.status,
        closed_at=cycle.closed_at,
        skus=[
            SkuClose(
                sku_id=sku_id,
                sku_name=sku_names.get(sku_id, ""),
                demand=demand[sku_id],
                final_unit_price_cents=pricing.tier_for(
                    tiers[sku_id], demand[sku_id]
                ).unit_price_cents,
            )
            for sku_id in sorted(demand)
        ],
    )

"""Standing orders of restaurants: placed by themselves into each new cycle of the network.

They are placed in the transaction that opens the cycle, each in its own savepoint, so a
declined card or a vanished SKU skips that buyer only. Lines that cannot be supplied are
skipped and recorded on the run, which the buyer reads back.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.exceptions import NetworkNotFound, OrganizationNotFound
from app.accounts.models import Organization, OrganizationKind
from app.accounts.principal import Principal
from app.brands import names
from app.brands.models import Brand, BrandSku
from app.core.config import Settings
from app.core.pagination import PageParams, paginate
from app.core.problems import Problem
from app.core.quantity import is_multiple
from app.events import service as events
from app.orders import stock
from app.orders.exceptions import InvalidOrder, StandingOrderNotFound
from app.orders.models import OrderCycle, PaymentMethod, StandingOrder, StandingOrderRun
from app.orders.schemas import (
    LineIn,
    SkippedLine,
    StandingLinePublic,
    StandingOrderCreate,
    StandingOrderPublic,
    StandingOrderRunPublic,
)
from app.orders.service import place

log = logging.getLogger(__name__)


async def create_standing_order(
    session: AsyncSession, principal: Principal, data: StandingOrderCreate
) -> StandingOrder:
    principal.require_member(data.buyer_id)
    orgs = {
        o.id: o
        for o in await session.scalars(
            select(Organization).where(col(Organization.id).in_([data.buyer_id, data.network_id]))
        )
    }
    buyer, network = orgs.get(data.buyer_id), orgs.get(data.network_id)
    if buyer is None:
        raise OrganizationNotFound()
    if buyer.kind != OrganizationKind.buyer:
        raise InvalidOrder(errors=[{"field": "buyer_id", "detail": "not a buyer organisation"}])
    if network is None or network.kind != OrganizationKind.network:
        raise NetworkNotFound()
    known = set(
        await session.scalars(
            select(BrandSku.id)
            .join(Brand, col(Brand.id) == col(BrandSku.brand_id))
            .where(
                Brand.network_id == network.id,
                col(BrandSku.id).in_([line.sku_id for line in data.lines]),
            )
        )
    )
    errors = [
        {"field": f"lines[{i}].sku_id", "detail": "no SKU of this network"}
        for i, line in enumerate(data.lines)
        if line.sku_id not in known
    ]
    if len({line.sku_id for line in data.lines}) != len(data.lines):
        errors.append({"field": "lines", "detail": "one line per SKU"})
    if errors:
        raise InvalidOrder(errors[0]["detail"], errors=errors)
    standing = StandingOrder(
        buyer_id=buyer.id,
        network_id=network.id,
        payment_method=data.payment_method,
        payment_method_id=data.payment_method_id,
        lines=[line.model_dump(mode="json") for line in data.lines],
    )
    session.add(standing)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="standing_order.create",
        object_type="standing_order",
        object_id=standing.id,
        organization_id=buyer.id,
        changes=audit.diff(None, {"lines": standing.lines, "network_id": network.id}),
    )
    return standing


async def _own(session: AsyncSession, principal: Principal, standing_id: str) -> StandingOrder:
    standing = await session.get(StandingOrder, standing_id)
    if standing is None or not principal.is_member(standing.buyer_id):
        raise StandingOrderNotFound()
    return standing


async def deactivate(
    session: AsyncSession, principal: Principal, standing_id: str
) -> StandingOrder:
    standing = await _own(session, principal, standing_id)
    standing.active = False
    await session.flush()
    await audit.record(
        session,
        principal,
        action="standing_order.stop",
        object_type="standing_order",
        object_id=standing.id,
        organization_id=standing.buyer_id,
    )
    return standing


async def standing_publics(
    session: AsyncSession, rows: Sequence[StandingOrder]
) -> list[StandingOrderPublic]:
    runs: dict[str, list[StandingOrderRunPublic]] = {r.id: [] for r in rows}
    for run in await session.scalars(
        select(StandingOrderRun)
        .where(col(StandingOrderRun.standing_order_id).in_(list(runs)))
        .order_by(col(StandingOrderRun.created_at))
    ):
        runs[run.standing_order_id].append(
            StandingOrderRunPublic(
                cycle_id=run.cycle_id,
                order_id=run.order_id,
                skipped=[SkippedLine.model_validate(s) for s in run.skipped],
                created_at=run.created_at,
            )
        )
    return [
        StandingOrderPublic(
            id=r.id,
            buyer_id=r.buyer_id,
            network_id=r.network_id,
            payment_method=r.payment_method,
            lines=[StandingLinePublic.model_validate(line) for line in r.lines],
            active=r.active,
            created_at=r.created_at,
            runs=runs[r.id],
        )
        for r in rows
    ]


async def get_standing(
    session: AsyncSession, principal: Principal, standing_id: str
) -> StandingOrder:
    return await _own(session, principal, standing_id)


async def list_standing(
    session: AsyncSession, principal: Principal, *, buyer_id: str, page: PageParams
) -> tuple[Sequence[StandingOrder], str | None]:
    principal.require_member(buyer_id)
    stmt = select(StandingOrder).where(StandingOrder.buyer_id == buyer_id)
    return await paginate(session, stmt, key=col(StandingOrder.id), params=page)


async def place_standing_orders(
    session: AsyncSession, settings: Settings, cycle: OrderCycle, now: datetime
) -> int:
    """Place every active standing order of the cycle's network; answer how many were placed."""
    placed = 0
    standing_orders = (
        await session.scalars(
            select(StandingOrder)
            .where(StandingOrder.network_id == cycle.network_id, col(StandingOrder.active))
            .order_by(col(StandingOrder.id))
        )
    ).all()
    for standing in standing_orders:
        if await session.scalar(
            select(StandingOrderRun.id).where(
                StandingOrderRun.standing_order_id == standing.id,
                StandingOrderRun.cycle_id == cycle.id,
            )
        ):
            continue
        lines = [LineIn.model_validate(line) for line in standing.lines]
        supply = await stock.stock_of(session, cycle.id, [line.sku_id for line in lines])
        packs = {
            s.id: s.pack_size
            for s in await session.scalars(
                select(BrandSku).where(col(BrandSku.id).in_([line.sku_id for line in lines]))
            )
        }
        keep: list[LineIn] = []
        skipped: list[SkippedLine] = []
        for line in lines:
            available = supply[line.sku_id].available if line.sku_id in supply else Decimal(0)
            if line.sku_id not in supply:
                skipped.append(
                    SkippedLine(
                        sku_id=line.sku_id,
                        quantity=line.quantity,
                        reason="not offered in this cycle",
                    )
                )
            elif line.sku_id not in packs or not is_multiple(line.quantity, packs[line.sku_id]):
                skipped.append(
                    SkippedLine(
                        sku_id=line.sku_id,
                        quantity=line.quantity,
                        reason="no longer sold in these packs",
                    )
                )
            elif available < line.quantity:
                skipped.append(
                    SkippedLine(
                        sku_id=line.sku_id,
                        quantity=line.quantity,
                        reason=f"only {available} available",
                    )
                )
            else:
                keep.append(line.model_copy(update={"preferred_association_id": None}))
        order_id = None
        buyer = await session.get(Organization, standing.buyer_id)
        if keep and buyer is not None:
            try:
                async with session.begin_nested():
                    order = await place(
                        session,
                        settings,
                        actor=None,
                        cycle=cycle,
                        buyer=buyer,
                        lines=keep,
                        payment_method=PaymentMethod(standing.payment_method),
                        payment_method_id=standing.payment_method_id,
                        standing_order_id=standing.id,
                        now=now,
                    )
                order_id = order.id
                placed += 1
            except Problem as problem:
                log.info("standing order %s not placed: %s", standing.id, problem.detail)
                skipped = [
                    SkippedLine(sku_id=line.sku_id, quantity=line.quantity, reason=problem.detail)
                    for line in keep
                ] + skipped
        session.add(
            StandingOrderRun(
                standing_order_id=standing.id,
                cycle_id=cycle.id,
                order_id=order_id,
                skipped=[s.model_dump(mode="json") for s in skipped],
            )
        )
        await session.flush()
        await _tell(session, standing, cycle, order_id, skipped)
    return placed


async def _tell(
    session: AsyncSession,
    standing: StandingOrder,
    cycle: OrderCycle,
    order_id: str | None,
    skipped: Sequence[SkippedLine],
) -> None:
    """The buyer hears of every run: the order it placed and what it left out, or why it
    placed none (a standing order never fails silently)."""
    sku_names = await names.skus(session, [s.sku_id for s in skipped])
    await events.emit(
        session,
        "standing_order.placed" if order_id else "standing_order.failed",
        key=f"{standing.id}:{cycle.id}",
        audience=[standing.buyer_id],
        payload={
            "standing_order_id": standing.id,
            "buyer_id": standing.buyer_id,
            "cycle_id": cycle.id,
            "order_id": order_id,
            "skipped": [
                s.model_dump(mode="json") | {"sku_name": sku_names.get(s.sku_id, s.sku_id)}
                for s in skipped
            ],
        },
    )


async def place_on_open(
    session: AsyncSession, settings: Settings, cycle: OrderCycle, now: datetime
) -> None:
    await place_standing_orders(session, settings, cycle, now)

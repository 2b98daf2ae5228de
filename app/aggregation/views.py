"""What closing a cycle shows: allocations and delivery orders, each to whom may see it.

The network and the cycle's collection centre see everything; an association sees its own.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.principal import Principal
from app.aggregation.models import Allocation, DeliveryOrder, DeliveryOrderLine
from app.aggregation.schemas import AllocationPublic, DeliveryLinePublic, DeliveryOrderPublic
from app.orders import cycles
from app.orders.models import OrderCycle


def _sees_everything(principal: Principal, cycle: OrderCycle) -> bool:
    return principal.is_member(cycle.network_id) or principal.is_member(cycle.collection_centre_id)


async def list_allocations(
    session: AsyncSession, principal: Principal, cycle_id: str
) -> list[AllocationPublic]:
    """The network and the centre see every allocation; an association sees its own."""
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
    if not _sees_everything(principal, cycle):
        stmt = stmt.where(col(DeliveryOrder.association_id).in_(list(principal.roles)))
    rows = (await session.scalars(stmt.order_by(col(DeliveryOrder.association_id)))).all()
    return await delivery_order_publics(session, rows)

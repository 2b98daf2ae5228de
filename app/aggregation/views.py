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
from app.brands import names
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
    rows = (
        await session.scalars(stmt.order_by(col(Allocation.sku_id), col(Allocation.association_id)))
    ).all()
    sku_names = await names.skus(session, (r.sku_id for r in rows))
    orgs = await names.organizations(session, (r.association_id for r in rows))
    products = await names.products(session, (r.product_id for r in rows))
    return [
        AllocationPublic(
            sku_id=r.sku_id,
            sku_name=sku_names.get(r.sku_id, ""),
            association_id=r.association_id,
            association_name=orgs.get(r.association_id, names.UNKNOWN_ORG).name,
            parish=orgs.get(r.association_id, names.UNKNOWN_ORG).parish,
            offer_id=r.offer_id,
            quantity=r.quantity,
            pinned=r.pinned,
            producer_price_cents=r.producer_price_cents,
            product_id=r.product_id,
            product_name=products.get(r.product_id, ""),
            product_version=r.product_version,
            minimum_waived=r.minimum_waived,
        )
        for r in rows
    ]


async def delivery_order_publics(
    session: AsyncSession, rows: Sequence[DeliveryOrder]
) -> list[DeliveryOrderPublic]:
    """Delivery orders with their lines and names, in four queries whatever their number."""
    lines: dict[str, list[DeliveryLinePublic]] = {d.id: [] for d in rows}
    found = (
        await session.scalars(
            select(DeliveryOrderLine)
            .where(col(DeliveryOrderLine.delivery_order_id).in_(list(lines)))
            .order_by(col(DeliveryOrderLine.sku_id))
        )
    ).all()
    sku_names = await names.skus(session, (line.sku_id for line in found))
    products = await names.products(session, (line.product_id for line in found))
    orgs = await names.organizations(
        session, [d.association_id for d in rows] + [d.collection_centre_id for d in rows]
    )
    for line in found:
        lines[line.delivery_order_id].append(
            DeliveryLinePublic(
                sku_id=line.sku_id,
                sku_name=sku_names.get(line.sku_id, ""),
                quantity=line.quantity,
                producer_price_cents=line.producer_price_cents,
                product_id=line.product_id,
                product_name=products.get(line.product_id, ""),
                product_version=line.product_version,
            )
        )
    return [
        DeliveryOrderPublic(
            id=d.id,
            cycle_id=d.cycle_id,
            association_id=d.association_id,
            association_name=orgs.get(d.association_id, names.UNKNOWN_ORG).name,
            parish=orgs.get(d.association_id, names.UNKNOWN_ORG).parish,
            collection_centre_id=d.collection_centre_id,
            collection_centre_name=orgs.get(d.collection_centre_id, names.UNKNOWN_ORG).name,
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

"""Who may see and do what at the collection centre.

The centre's staff work on the cycles it consolidates; the network watches its cycles; an
association sees its own delivery orders and receipts; a buyer its own shipments. Objects
of other organisations answer 404, so their existence does not leak.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.selectable import CompoundSelect
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.principal import Principal
from app.aggregation.models import DeliveryOrder
from app.fulfilment.exceptions import (
    CentreStaffRequired,
    DeliveryOrderNotFound,
    ShipmentNotFound,
)
from app.fulfilment.models import Shipment
from app.orders import cycles
from app.orders.models import Order, OrderCycle


def served_by_centres(centre_ids: Sequence[str]) -> CompoundSelect[tuple[str]]:
    """The organisations the centres among ``centre_ids`` serve: buyers with an order or a
    shipment in one of their cycles, and associations with a delivery order to them. Its
    staff may read those (``app.accounts.served``): names, addresses, phones for the route."""
    ids = list(centre_ids)
    their_cycles = select(OrderCycle.id).where(col(OrderCycle.collection_centre_id).in_(ids))
    return union(
        select(Order.buyer_id).where(col(Order.cycle_id).in_(their_cycles)),
        select(Shipment.buyer_id).where(col(Shipment.collection_centre_id).in_(ids)),
        select(DeliveryOrder.association_id).where(
            col(DeliveryOrder.collection_centre_id).in_(ids)
        ),
    )


def runs_centre(principal: Principal, cycle: OrderCycle) -> bool:
    return principal.is_member(cycle.collection_centre_id)


def oversees(principal: Principal, cycle: OrderCycle) -> bool:
    """The centre's staff and the network's members see every object of the cycle."""
    return runs_centre(principal, cycle) or principal.is_member(cycle.network_id)


async def centre_cycle(
    session: AsyncSession, principal: Principal, cycle_id: str, *, network_too: bool = False
) -> OrderCycle:
    """A cycle its collection centre's staff work on (or, with ``network_too``, that its
    network reads). Cycles are public, so everyone else gets 403, not 404."""
    cycle = await cycles.get_cycle(session, cycle_id)
    if not (runs_centre(principal, cycle) or (network_too and oversees(principal, cycle))):
        raise CentreStaffRequired()
    return cycle


async def delivery_order(
    session: AsyncSession, principal: Principal, delivery_order_id: str, *, receive: bool = False
) -> tuple[DeliveryOrder, OrderCycle]:
    """A delivery order the caller may see, or receive goods of when ``receive``."""
    row = await session.get(DeliveryOrder, delivery_order_id)
    if row is None:
        raise DeliveryOrderNotFound()
    cycle = await cycles.get_cycle(session, row.cycle_id)
    if not (oversees(principal, cycle) or principal.is_member(row.association_id)):
        raise DeliveryOrderNotFound()
    if receive and not runs_centre(principal, cycle):
        raise CentreStaffRequired()
    return row, cycle


def visible_shipments(principal: Principal) -> SelectOfScalar[Shipment]:
    stmt = select(Shipment)
    if principal.is_platform_admin:
        return stmt
    mine = list(principal.roles)
    of_my_networks = select(OrderCycle.id).where(col(OrderCycle.network_id).in_(mine))
    return stmt.where(
        or_(
            col(Shipment.buyer_id).in_(mine),
            col(Shipment.collection_centre_id).in_(mine),
            col(Shipment.cycle_id).in_(of_my_networks),
        )
    )


async def shipment(
    session: AsyncSession, principal: Principal, shipment_id: str, *, deliver: bool = False
) -> tuple[Shipment, OrderCycle]:
    """A shipment the caller may see, or record the delivery of when ``deliver``."""
    row = await session.scalar(visible_shipments(principal).where(Shipment.id == shipment_id))
    if row is None:
        raise ShipmentNotFound()
    cycle = await cycles.get_cycle(session, row.cycle_id)
    if deliver and not runs_centre(principal, cycle):
        if principal.is_member(row.buyer_id) or principal.is_member(cycle.network_id):
            raise CentreStaffRequired()
        raise ShipmentNotFound()
    return row, cycle

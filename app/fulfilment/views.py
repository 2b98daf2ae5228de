"""What shipments look like to the centre, the network and the buyer (one line per SKU)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.principal import Principal
from app.brands import names
from app.core.pagination import PageParams, paginate
from app.fulfilment import access
from app.fulfilment.models import Lot, Shipment, ShipmentItem, ShipmentLot, ShipmentStatus
from app.fulfilment.schemas import ReturnPublic, ShipmentLinePublic, ShipmentPublic
from app.orders import cycles
from app.orders.models import OrderLine


async def items_of(
    session: AsyncSession, shipment_ids: Sequence[str]
) -> dict[str, list[ShipmentItem]]:
    out: dict[str, list[ShipmentItem]] = {s: [] for s in shipment_ids}
    for item in await session.scalars(
        select(ShipmentItem)
        .where(col(ShipmentItem.shipment_id).in_(list(shipment_ids)))
        .order_by(col(ShipmentItem.sku_id), col(ShipmentItem.order_line_id))
    ):
        out[item.shipment_id].append(item)
    return out


async def lot_codes_of(
    session: AsyncSession, shipment_ids: Sequence[str]
) -> dict[str, list[tuple[ShipmentLot, Lot]]]:
    """The lots packed in each shipment, first received first."""
    out: dict[str, list[tuple[ShipmentLot, Lot]]] = {s: [] for s in shipment_ids}
    rows = await session.execute(
        select(ShipmentLot, Lot)
        .join(Lot, col(Lot.id) == col(ShipmentLot.lot_id))
        .where(col(ShipmentLot.shipment_id).in_(list(shipment_ids)))
        .order_by(col(Lot.received_at), col(Lot.code))
    )
    for packed, lot in rows:
        out[packed.shipment_id].append((packed, lot))
    return out


async def shipment_publics(
    session: AsyncSession, shipments: Sequence[Shipment]
) -> list[ShipmentPublic]:
    """Shipments with their lines, lots, billed quantities and names, in five queries."""
    ids = [s.id for s in shipments]
    items = await items_of(session, ids)
    packed = await lot_codes_of(session, ids)
    line_ids = [i.order_line_id for group in items.values() for i in group]
    billed = {
        line.id: line.billed_quantity
        for line in await session.scalars(select(OrderLine).where(col(OrderLine.id).in_(line_ids)))
    }
    sku_names = await names.skus(session, (i.sku_id for group in items.values() for i in group))
    orgs = await names.organizations(
        session,
        [s.buyer_id for s in shipments] + [s.collection_centre_id for s in shipments],
    )
    out = []
    for shipment in shipments:
        by_sku: dict[str, list[ShipmentItem]] = defaultdict(list)
        for item in items[shipment.id]:
            by_sku[item.sku_id].append(item)
        codes: dict[str, list[str]] = defaultdict(list)
        for _, lot in packed[shipment.id]:
            if lot.code not in codes[lot.sku_id]:
                codes[lot.sku_id].append(lot.code)
        delivered = shipment.status == ShipmentStatus.delivered
        buyer = orgs.get(shipment.buyer_id, names.UNKNOWN_ORG)
        lines = []
        returns = []
        for sku_id, group in by_sku.items():
            quantity = sum((i.quantity for i in group), Decimal(0))
            returned = sum((i.returned_quantity for i in group), Decimal(0))
            bills = [billed.get(i.order_line_id) for i in group]
            lines.append(
                ShipmentLinePublic(
                    sku_id=sku_id,
                    sku_name=sku_names.get(sku_id, ""),
                    quantity=quantity,
                    lot_codes=codes[sku_id],
                    weight_kg=sum((i.weight_kg for i in group), Decimal(0)),
                    billed_quantity=None
                    if any(b is None for b in bills)
                    else sum((b or Decimal(0) for b in bills), Decimal(0)),
                    returned_quantity=returned,
                    delivered_quantity=quantity - returned
                    if delivered
                    else (Decimal(0) if shipment.status == ShipmentStatus.failed else None),
                )
            )
            if returned > 0:
                reasons = sorted({i.return_reason for i in group if i.return_reason})
                returns.append(
                    ReturnPublic(
                        sku_id=sku_id,
                        sku_name=sku_names.get(sku_id, ""),
                        quantity=returned,
                        reason="; ".join(reasons) or None,
                    )
                )
        out.append(
            ShipmentPublic(
                id=shipment.id,
                cycle_id=shipment.cycle_id,
                buyer_id=shipment.buyer_id,
                buyer_name=buyer.name,
                parish=buyer.parish,
                collection_centre_id=shipment.collection_centre_id,
                collection_centre_name=orgs.get(
                    shipment.collection_centre_id, names.UNKNOWN_ORG
                ).name,
                status=shipment.status,
                weight_kg=shipment.weight_kg,
                chilled=shipment.chilled,
                lines=lines,
                built_at=shipment.built_at,
                received_by=shipment.received_by,
                delivered_at=shipment.delivered_at,
                returns=returns,
                failure_reason=shipment.failure_reason,
            )
        )
    return out


async def list_shipments(
    session: AsyncSession, principal: Principal, cycle_id: str, *, page: PageParams
) -> tuple[Sequence[Shipment], str | None]:
    """The centre and the network see every shipment of the cycle; a buyer its own."""
    cycle = await cycles.get_cycle(session, cycle_id)
    stmt = access.visible_shipments(principal).where(Shipment.cycle_id == cycle.id)
    return await paginate(session, stmt, key=col(Shipment.id), params=page)


async def get_shipment(session: AsyncSession, principal: Principal, shipment_id: str) -> Shipment:
    shipment, _ = await access.shipment(session, principal, shipment_id)
    return shipment

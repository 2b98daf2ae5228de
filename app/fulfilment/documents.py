"""Paper for the centre's floor, the data part: pick lists, packing lists and lot labels.

The data is loaded from the database first (a constant number of queries) into plain
dataclasses; drawing them (``app.fulfilment.printouts``) is plain CPU work, done in a worker
thread by the router so the event loop keeps serving.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.models import Organization
from app.accounts.principal import Principal
from app.aggregation.models import DeliveryOrder, DeliveryOrderLine
from app.brands.models import BrandSku
from app.catalog.models import Product
from app.core.csvexport import quantity as csv_quantity
from app.fulfilment import access
from app.fulfilment.models import Lot, Shipment, ShipmentLot
from app.fulfilment.views import items_of, lot_codes_of
from app.orders.models import OrderCycle, OrderLine


async def _names(session: AsyncSession, ids: set[str]) -> dict[str, Organization]:
    return {
        o.id: o
        for o in await session.scalars(select(Organization).where(col(Organization.id).in_(ids)))
    }


async def _skus(session: AsyncSession, ids: set[str]) -> dict[str, BrandSku]:
    return {
        s.id: s for s in await session.scalars(select(BrandSku).where(col(BrandSku.id).in_(ids)))
    }


PICK_LIST_COLUMNS = (
    "delivery_order_id",
    "association",
    "sku_id",
    "sku_name",
    "unit",
    "ordered_quantity",
    "lot_code",
    "accepted_quantity",
    "rejected_quantity",
    "temperature_alert",
    "buyer",
    "shipment_id",
    "pick_quantity",
)


async def pick_list_rows(
    session: AsyncSession, principal: Principal, delivery_order_id: str
) -> list[list[object]]:
    """One delivery order's pick list; written by ``app.core.csvexport`` like every export."""
    order, _ = await access.delivery_order(session, principal, delivery_order_id)
    return await _pick_rows(session, [order])


async def cycle_pick_list_rows(
    session: AsyncSession, principal: Principal, cycle_id: str, association_id: str | None
) -> tuple[OrderCycle, list[list[object]]]:
    """The whole cycle's pick list for the centre (or the network): every delivery order,
    by association and SKU, or one association's with ``association_id``."""
    cycle = await access.centre_cycle(session, principal, cycle_id, network_too=True)
    stmt = select(DeliveryOrder).where(DeliveryOrder.cycle_id == cycle.id)
    if association_id is not None:
        stmt = stmt.where(DeliveryOrder.association_id == association_id)
    orders = (await session.scalars(stmt.order_by(col(DeliveryOrder.id)))).all()
    return cycle, await _pick_rows(session, orders)


async def _pick_rows(session: AsyncSession, orders: Sequence[DeliveryOrder]) -> list[list[object]]:
    """One row per lot and shipment it was packed into (a lot not yet packed has one row
    without a buyer; a line with nothing received has one row without a lot), by
    association name, then SKU name; five queries whatever the number of orders."""
    order_ids = [o.id for o in orders]
    lines = (
        await session.scalars(
            select(DeliveryOrderLine)
            .where(col(DeliveryOrderLine.delivery_order_id).in_(order_ids))
            .order_by(col(DeliveryOrderLine.sku_id))
        )
    ).all()
    lots = (
        await session.scalars(
            select(Lot)
            .where(col(Lot.delivery_order_id).in_(order_ids))
            .order_by(col(Lot.received_at), col(Lot.code))
        )
    ).all()
    packed: dict[str, list[tuple[ShipmentLot, Shipment]]] = defaultdict(list)
    rows = await session.execute(
        select(ShipmentLot, Shipment)
        .join(Shipment, col(Shipment.id) == col(ShipmentLot.shipment_id))
        .where(col(ShipmentLot.lot_id).in_([lot.id for lot in lots]))
        .order_by(col(Shipment.buyer_id), col(Shipment.id))
    )
    for piece, shipment in rows:
        packed[piece.lot_id].append((piece, shipment))
    orgs = await _names(
        session,
        {o.association_id for o in orders} | {s.buyer_id for p in packed.values() for _, s in p},
    )
    skus = await _skus(session, {line.sku_id for line in lines})
    by_order = {o.id: o for o in orders}

    out: list[list[object]] = []

    def order_key(line: DeliveryOrderLine) -> tuple[str, str, str]:
        order = by_order[line.delivery_order_id]
        return (orgs[order.association_id].name, skus[line.sku_id].name, line.id)

    for line in sorted(lines, key=order_key):
        order = by_order[line.delivery_order_id]
        sku = skus[line.sku_id]
        association = orgs[order.association_id].name
        head = [order.id, association, sku.id, sku.name, sku.unit, csv_quantity(line.quantity)]
        sku_lots = [
            lot for lot in lots if lot.sku_id == line.sku_id and lot.delivery_order_id == order.id
        ]
        if not sku_lots:
            out.append([*head, "", "", "", "", "", "", ""])
        for lot in sku_lots:
            lot_cells = [
                lot.code,
                csv_quantity(lot.accepted_quantity),
                csv_quantity(lot.rejected_quantity),
                "yes" if lot.temperature_alert else "no",
            ]
            if not packed[lot.id]:
                out.append([*head, *lot_cells, "", "", ""])
            for piece, shipment in packed[lot.id]:
                where = [orgs[shipment.buyer_id].name, shipment.id, csv_quantity(piece.quantity)]
                out.append([*head, *lot_cells, *where])
    return out


@dataclass(frozen=True)
class PickListData:
    cycle_id: str
    delivery_date: date
    centre: str
    country: str
    rows: tuple[dict[str, str], ...]  # the CSV's rows, by column name


def pick_list_data(
    cycle: OrderCycle, centre: Organization, rows: Sequence[Sequence[object]]
) -> PickListData:
    return PickListData(
        cycle_id=cycle.id,
        delivery_date=cycle.delivery_date,
        centre=centre.name,
        country=centre.country,
        rows=tuple(
            dict(zip(PICK_LIST_COLUMNS, (str(c) for c in row), strict=True)) for row in rows
        ),
    )


async def organization(session: AsyncSession, org_id: str) -> Organization:
    org = await session.get(Organization, org_id)
    assert org is not None  # organisations are never deleted while cycles point at them
    return org


@dataclass(frozen=True)
class LabelLot:
    code: str
    quantity: Decimal
    association: str
    parish: str
    storage: str  # ambient | chilled | frozen, from the product sheet
    temperature_alert: bool
    temperature_c: Decimal | None


@dataclass(frozen=True)
class PackedLine:
    sku_name: str
    unit: str
    ordered: Decimal  # what the buyer's order lines asked for
    confirmed: Decimal  # what the close confirmed
    quantity: Decimal  # what is packed
    weight_kg: Decimal
    lots: tuple[LabelLot, ...]

    @property
    def warm(self) -> bool:
        return any(lot.temperature_alert for lot in self.lots)


@dataclass(frozen=True)
class PackingData:
    shipment_id: str
    buyer: str
    buyer_place: str
    country: str  # the buyer's, whose language the documents are printed in
    centre: str
    delivery_date: date
    weight_kg: Decimal
    chilled: bool
    lines: tuple[PackedLine, ...]
    trace_base: str  # the public lot page's address, without the code

    def trace_url(self, code: str) -> str:
        return self.trace_base + quote(code, safe="-._~")


async def packing_data(
    session: AsyncSession, principal: Principal, shipment_id: str, *, public_base_url: str
) -> PackingData:
    shipment, cycle = await access.shipment(session, principal, shipment_id)
    items = (await items_of(session, [shipment.id]))[shipment.id]
    packed = (await lot_codes_of(session, [shipment.id]))[shipment.id]
    orgs = await _names(
        session,
        {shipment.buyer_id, cycle.collection_centre_id} | {lot.association_id for _, lot in packed},
    )
    skus = await _skus(session, {i.sku_id for i in items})
    ordered = {
        line.id: line.quantity
        for line in await session.scalars(
            select(OrderLine).where(col(OrderLine.id).in_([i.order_line_id for i in items]))
        )
    }
    products = {
        p.id: p
        for p in await session.scalars(
            select(Product).where(col(Product.id).in_({lot.product_id for _, lot in packed}))
        )
    }
    lines = []
    for sku_id in sorted({i.sku_id for i in items}, key=lambda s: skus[s].name):
        mine = [i for i in items if i.sku_id == sku_id]
        lots: dict[str, LabelLot] = {}
        for piece, lot in packed:
            if lot.sku_id != sku_id:
                continue
            product = products.get(lot.product_id)
            seen = lots.get(lot.code)
            lots[lot.code] = LabelLot(
                code=lot.code,
                quantity=piece.quantity + (seen.quantity if seen else Decimal(0)),
                association=orgs[lot.association_id].name,
                parish=product.origin_parish if product else orgs[lot.association_id].parish,
                # a sheet no longer there: the shipment's cold chain says what it needs
                storage=product.storage if product else ("chilled" if shipment.chilled else ""),
                temperature_alert=lot.temperature_alert,
                temperature_c=lot.temperature_c,
            )
        lines.append(
            PackedLine(
                sku_name=skus[sku_id].name,
                unit=skus[sku_id].unit,
                ordered=sum((ordered.get(i.order_line_id, i.quantity) for i in mine), Decimal(0)),
                confirmed=sum((i.confirmed_at_close for i in mine), Decimal(0)),
                quantity=sum((i.quantity for i in mine), Decimal(0)),
                weight_kg=sum((i.weight_kg for i in mine), Decimal(0)),
                lots=tuple(lots.values()),
            )
        )
    buyer = orgs[shipment.buyer_id]
    return PackingData(
        shipment_id=shipment.id,
        buyer=buyer.name,
        buyer_place=f"{buyer.parish}, {buyer.canton}, {buyer.province}",
        country=buyer.country,
        centre=orgs[cycle.collection_centre_id].name,
        delivery_date=cycle.delivery_date,
        weight_kg=shipment.weight_kg,
        chilled=shipment.chilled,
        lines=tuple(lines),
        trace_base=f"{public_base_url.rstrip('/')}/t/",
    )

"""Building the shipments of a cycle: one per buyer, from what the centre accepted.

Per SKU, ``consolidation.cover_shortfalls`` says what each association supplied (its own
allocation first, then the others' shortfall from its surplus) and what is still missing;
the missing part is cut from the buyers' lines by ``aggregation.shortage.share_shortfall``,
and the lines are cut and packed by ``orders.lifecycle``, so no buyer pays for what did not
come. Lots go to the lines first received, first out; each packed lot records what of it
the buyer is billed for (its weighed quantity for variable-weight goods), which is what its
association is paid on. Building again (until a shipment is delivered or failed) starts
from what the close confirmed and gives the same result.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.principal import Principal
from app.aggregation.models import DeliveryOrder, DeliveryOrderLine
from app.brands.models import BrandSku
from app.brands.skus import WEIGHED_UNITS, unit_weight_kg
from app.catalog.models import Product, Unit
from app.core.i18n import _l
from app.fulfilment import access, packing
from app.fulfilment.exceptions import CycleNotClosed, ShipmentsDelivered
from app.fulfilment.models import Lot, Shipment, ShipmentItem, ShipmentLot, ShipmentStatus
from app.fulfilment.receipts import COLD_STORAGE
from app.orders import cycles, lifecycle
from app.orders.models import CycleStatus, Order, OrderCycle, OrderLine, OrderStatus


async def _lock_cycle(session: AsyncSession, cycle_id: str) -> None:
    # one builder (or deliverer) at a time per cycle; SQLite's write transaction already is
    await session.execute(select(OrderCycle.id).where(OrderCycle.id == cycle_id).with_for_update())


async def build_shipments(
    session: AsyncSession, principal: Principal, cycle_id: str, *, now: datetime
) -> list[Shipment]:
    cycle = await access.centre_cycle(session, principal, cycle_id)
    if cycle.status != CycleStatus.closed:
        raise CycleNotClosed(_l("The cycle is {status}", status=cycle.status))
    await _lock_cycle(session, cycle.id)
    shipments = {
        s.buyer_id: s
        for s in await session.scalars(select(Shipment).where(Shipment.cycle_id == cycle.id))
    }
    if any(s.status != ShipmentStatus.packed for s in shipments.values()):
        raise ShipmentsDelivered()
    at_close = {
        item.order_line_id: item.confirmed_at_close
        for item in await session.scalars(
            select(ShipmentItem).where(
                col(ShipmentItem.shipment_id).in_([s.id for s in shipments.values()])
            )
        )
    }
    orders = {
        o.id: o
        for o in await session.scalars(
            select(Order).where(Order.cycle_id == cycle.id, Order.status == OrderStatus.confirmed)
        )
    }
    lines = (
        await session.scalars(
            select(OrderLine)
            .where(
                col(OrderLine.order_id).in_(list(orders)),
                col(OrderLine.confirmed_quantity).is_not(None),
            )
            .order_by(col(OrderLine.id))
        )
    ).all()
    confirmed = {
        line.id: at_close.get(line.id, line.confirmed_quantity or Decimal(0)) for line in lines
    }
    delivery_lines = (
        await session.scalars(
            select(DeliveryOrderLine)
            .join(DeliveryOrder, col(DeliveryOrder.id) == col(DeliveryOrderLine.delivery_order_id))
            .where(DeliveryOrder.cycle_id == cycle.id)
        )
    ).all()
    suppliers_of = {
        d.id: d.association_id
        for d in await session.scalars(
            select(DeliveryOrder).where(DeliveryOrder.cycle_id == cycle.id)
        )
    }
    lots = (
        await session.scalars(
            select(Lot)
            .where(Lot.cycle_id == cycle.id, col(Lot.accepted_quantity) > 0)
            .order_by(col(Lot.received_at), col(Lot.id))
        )
    ).all()
    products = {
        p.id: p
        for p in await session.scalars(
            select(Product).where(col(Product.id).in_({lot.product_id for lot in lots}))
        )
    }
    sku_ids = sorted({line.sku_id for line in lines} | {d.sku_id for d in delivery_lines})
    skus = {
        s.id: s
        for s in await session.scalars(select(BrandSku).where(col(BrandSku.id).in_(sku_ids)))
    }

    # Start again from nothing but the shipments themselves (their ids stay).
    await session.execute(
        delete(ShipmentLot).where(
            col(ShipmentLot.shipment_id).in_([s.id for s in shipments.values()])
        )
    )
    await session.execute(
        delete(ShipmentItem).where(
            col(ShipmentItem.shipment_id).in_([s.id for s in shipments.values()])
        )
    )
    for buyer_id in sorted({orders[line.order_id].buyer_id for line in lines}):
        if buyer_id not in shipments:
            shipments[buyer_id] = Shipment(
                cycle_id=cycle.id,
                buyer_id=buyer_id,
                collection_centre_id=cycle.collection_centre_id,
            )
            session.add(shipments[buyer_id])

    items: dict[str, ShipmentItem] = {}
    plans: dict[str, packing.SkuPacking] = {}
    shortfalls: dict[str, str] = {}
    for sku_id in sku_ids:
        sku = skus[sku_id]
        sku_lines = [line for line in lines if line.sku_id == sku_id]
        plan = packing.plan_sku(
            packing.SkuTerms(
                sku.pack_size,
                unit_weight_kg(sku),
                WEIGHED_UNITS.get(Unit(sku.unit)) if sku.unit in WEIGHED_UNITS else None,
            ),
            [packing.LineToPack(line.id, confirmed[line.id]) for line in sku_lines],
            [
                packing.Allocated(suppliers_of[d.delivery_order_id], d.quantity)
                for d in delivery_lines
                if d.sku_id == sku_id
            ],
            [
                packing.LotIn(
                    lot.id,
                    lot.association_id,
                    lot.accepted_quantity,
                    lot.weight_kg,
                    weighed=lot.weight_kg is not None
                    and lot.product_id in products
                    and products[lot.product_id].variable_weight,
                )
                for lot in lots
                if lot.sku_id == sku_id
            ],
        )
        plans[sku_id] = plan
        if plan.shortfall > 0:
            shortfalls[sku_id] = str(plan.shortfall)
        for d in delivery_lines:
            if d.sku_id == sku_id:
                association_id = suppliers_of[d.delivery_order_id]
                d.accepted_quantity = plan.accepted.get(association_id, Decimal(0))
                d.supplied_quantity = plan.supplied[association_id]
        for line in sku_lines:
            items[line.id] = ShipmentItem(
                shipment_id=shipments[orders[line.order_id].buyer_id].id,
                order_id=line.order_id,
                order_line_id=line.id,
                sku_id=sku_id,
                confirmed_at_close=confirmed[line.id],
                quantity=plan.remaining[line.id],
            )
    session.add_all(items.values())
    await session.flush()

    cold_lots = {
        lot.id
        for lot in lots
        if lot.product_id in products and products[lot.product_id].storage in COLD_STORAGE
    }
    cold: set[str] = set()
    for plan in plans.values():
        for packed in plan.packed:
            item = items[packed.line_id]
            item.weight_kg += packed.weight_kg
            if packed.real_weight_kg is not None:
                item.real_weight_kg = (item.real_weight_kg or Decimal(0)) + packed.real_weight_kg
            if packed.lot_id in cold_lots:
                cold.add(packed.line_id)
            session.add(
                ShipmentLot(
                    shipment_id=item.shipment_id,
                    item_id=item.id,
                    lot_id=packed.lot_id,
                    quantity=packed.quantity,
                    weight_kg=packed.real_weight_kg,
                    kept_quantity=packed.quantity,
                    kept_billed_quantity=packed.billed,
                )
            )
    lifecycle.pack(
        session,
        orders,
        lines,
        {
            line.id: lifecycle.Packed(
                confirmed=plans[line.sku_id].remaining[line.id],
                billed=plans[line.sku_id].billed(line.id),
            )
            for line in lines
        },
        actor=principal,
        now=now,
    )
    for shipment in shipments.values():
        mine = [(key, i) for key, i in items.items() if i.shipment_id == shipment.id]
        shipment.weight_kg = sum((i.weight_kg for _, i in mine), Decimal(0))
        shipment.chilled = any(key in cold for key, _ in mine)
        shipment.built_at = now
    await session.flush()
    cycles.event(
        session, "cycle.shipments_built", cycle_id=cycle.id, actor=principal, shortfalls=shortfalls
    )
    await audit.record(
        session,
        principal,
        action="shipments.build",
        object_type="order_cycle",
        object_id=cycle.id,
        organization_id=cycle.collection_centre_id,
        changes={"shipments": len(shipments), "shortfalls": shortfalls},
    )
    return sorted(shipments.values(), key=lambda s: s.buyer_id)

"""Building the shipments of a cycle: one per buyer, from what the centre accepted.

Per SKU, ``consolidation.cover_shortfalls`` says what each association supplied (its own
allocation first, then the others' shortfall from its surplus) and what is still missing;
the missing part is cut from the buyers' lines by ``aggregation.shortage.share_shortfall``,
and the lines' confirmed quantities follow, so no buyer pays for what did not come. Lots go
to the lines first received, first out. Building again (until a shipment is delivered)
starts from what the close confirmed and gives the same result.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.principal import Principal
from app.aggregation.models import DeliveryOrder, DeliveryOrderLine
from app.aggregation.shortage import Line, share_shortfall
from app.brands.models import BrandSku
from app.brands.skus import WEIGHED_UNITS, unit_weight_kg
from app.catalog.models import Product, Unit
from app.core.money import cents_times, split_largest_remainder
from app.core.quantity import quantize
from app.fulfilment import access
from app.fulfilment.consolidation import (
    LotStock,
    Need,
    Pick,
    Supplier,
    cover_shortfalls,
    milli,
    of_milli,
    pick_lots,
)
from app.fulfilment.exceptions import CycleNotClosed, ShipmentsDelivered
from app.fulfilment.models import Lot, Shipment, ShipmentItem, ShipmentLot, ShipmentStatus
from app.fulfilment.receipts import COLD_STORAGE
from app.orders import cycles
from app.orders.models import CycleStatus, Order, OrderCycle, OrderLine, OrderStatus


def in_sale_unit(kg: Decimal, unit: str) -> Decimal:
    """A real weight in the SKU's sale unit when it is sold by weight (else in kg)."""
    if unit in WEIGHED_UNITS:
        return quantize(kg / WEIGHED_UNITS[Unit(unit)])
    return kg


def final_total(lines: Sequence[OrderLine]) -> int:
    """What the order comes to: billed (or confirmed) quantities at the final prices."""
    total = 0
    for line in lines:
        quantity = line.billed_quantity
        if quantity is None:
            quantity = line.confirmed_quantity or Decimal(0)
        total += cents_times(line.final_unit_price_cents or line.unit_price_cents, quantity)
    return total


async def _lock_cycle(session: AsyncSession, cycle_id: str) -> None:
    # one builder (or deliverer) at a time per cycle; SQLite's write transaction already is
    await session.execute(select(OrderCycle.id).where(OrderCycle.id == cycle_id).with_for_update())


async def build_shipments(
    session: AsyncSession, principal: Principal, cycle_id: str, *, now: datetime
) -> list[Shipment]:
    cycle = await access.centre_cycle(session, principal, cycle_id)
    if cycle.status != CycleStatus.closed:
        raise CycleNotClosed(f"The cycle is {cycle.status}")
    await _lock_cycle(session, cycle.id)
    shipments = {
        s.buyer_id: s
        for s in await session.scalars(select(Shipment).where(Shipment.cycle_id == cycle.id))
    }
    if any(s.status == ShipmentStatus.delivered for s in shipments.values()):
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
    picks: list[Pick] = []
    shortfalls: dict[str, str] = {}
    for sku_id in sku_ids:
        sku = skus[sku_id]
        sku_lines = [line for line in lines if line.sku_id == sku_id]
        sku_lots = [lot for lot in lots if lot.sku_id == sku_id]
        accepted: dict[str, Decimal] = defaultdict(Decimal)
        for lot in sku_lots:
            accepted[lot.association_id] += lot.accepted_quantity
        sku_delivery = [d for d in delivery_lines if d.sku_id == sku_id]
        supply = cover_shortfalls(
            [
                Supplier(
                    suppliers_of[d.delivery_order_id],
                    d.quantity,
                    accepted[suppliers_of[d.delivery_order_id]],
                )
                for d in sku_delivery
            ],
            demand=sum((confirmed[line.id] for line in sku_lines), Decimal(0)),
            step=sku.pack_size,
        )
        supplied = {s.association_id: s.supplied for s in supply.suppliers}
        for d in sku_delivery:
            association_id = suppliers_of[d.delivery_order_id]
            d.accepted_quantity = accepted[association_id]
            d.supplied_quantity = supplied[association_id]
        remaining = {line.id: confirmed[line.id] for line in sku_lines}
        if supply.shortfall > 0:
            shortfalls[sku_id] = str(supply.shortfall)
            cuts = share_shortfall(
                supply.shortfall,
                [Line(line.id, confirmed[line.id]) for line in sku_lines],
                step=sku.pack_size,
            )
            remaining = {cut.line_id: cut.remaining for cut in cuts}
        for line in sku_lines:
            item = ShipmentItem(
                shipment_id=shipments[orders[line.order_id].buyer_id].id,
                order_id=line.order_id,
                order_line_id=line.id,
                sku_id=sku_id,
                confirmed_at_close=confirmed[line.id],
                quantity=remaining[line.id],
            )
            items[line.id] = item
            line.confirmed_quantity = remaining[line.id]
        picks += pick_lots(
            [
                LotStock(lot.id, lot.association_id, lot.accepted_quantity, rank)
                for rank, lot in enumerate(sku_lots)
            ],
            supplied,
            [Need(line.id, remaining[line.id]) for line in sku_lines if remaining[line.id] > 0],
        )
    session.add_all(items.values())
    await session.flush()

    billed, cold = _pack(session, picks, items, lots, products, skus)
    lines_of: dict[str, list[OrderLine]] = defaultdict(list)
    for line in lines:
        line.billed_quantity = quantize(billed.get(line.id, Decimal(0)))
        lines_of[line.order_id].append(line)
    for order_id, order_lines in lines_of.items():
        orders[order_id].final_total_cents = final_total(order_lines)
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


def _pack(
    session: AsyncSession,
    picks: Sequence[Pick],
    items: dict[str, ShipmentItem],
    lots: Sequence[Lot],
    products: dict[str, Product],
    skus: dict[str, BrandSku],
) -> tuple[dict[str, Decimal], set[str]]:
    """Put the picked lots in the items: weights, lot rows, the quantity billed per line and
    the lines that need the cold chain.

    Named rule: a variable-weight lot's real weight is shared among its picks (and what is
    left of it at the centre) in proportion to quantity, largest remainder to the gram; any
    other lot weighs the SKU's unit weight times the quantity.
    """
    by_id = {lot.id: lot for lot in lots}
    by_lot: dict[str, list[Pick]] = defaultdict(list)
    for pick in picks:
        by_lot[pick.lot_id].append(pick)
    billed: dict[str, Decimal] = defaultdict(Decimal)
    cold: set[str] = set()
    for lot_id, lot_picks in by_lot.items():
        lot = by_id[lot_id]
        product = products.get(lot.product_id)
        sku = skus[lot.sku_id]
        weighed = product is not None and product.variable_weight and lot.weight_kg is not None
        shares: list[int] = []
        if weighed and lot.weight_kg is not None:
            used = [milli(p.quantity) for p in lot_picks]
            rest = milli(lot.accepted_quantity) - sum(used)
            shares = split_largest_remainder(milli(lot.weight_kg), [*used, rest])
        for n, pick in enumerate(lot_picks):
            item = items[pick.item_id]
            real: Decimal | None = None
            if shares:
                real = of_milli(shares[n])
                weight = real
                billed[pick.item_id] += in_sale_unit(real, sku.unit)
                item.real_weight_kg = (item.real_weight_kg or Decimal(0)) + real
            else:
                weight = quantize(unit_weight_kg(sku) * pick.quantity)
                billed[pick.item_id] += pick.quantity
            item.weight_kg += weight
            if product is not None and product.storage in COLD_STORAGE:
                cold.add(pick.item_id)
            session.add(
                ShipmentLot(
                    shipment_id=item.shipment_id,
                    item_id=item.id,
                    lot_id=lot.id,
                    quantity=pick.quantity,
                    weight_kg=real,
                )
            )
    return billed, cold

"""Recording a delivery: who received it, what came back, and what the buyer now owes.

Named rules: a SKU's returns are shared among the buyer's order lines of that SKU in
proportion to what was shipped on each, and a line's kept quantity among its lots in
proportion to what was packed of each (largest remainder in thousandths). A lot is billed
for what was kept of it, or, when it was weighed (variable-weight goods), for its weighed
quantity prorated to what was kept; a line is billed the sum of its lots, and each lot's
association is paid on the same figure. The order lines change through
``orders.lifecycle``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.principal import Principal
from app.brands import names
from app.core.i18n import _l
from app.core.money import split_largest_remainder
from app.core.quantity import quantize
from app.events import service as events
from app.fulfilment import access
from app.fulfilment.consolidation import milli, of_milli
from app.fulfilment.exceptions import (
    AlreadyDelivered,
    CycleSettled,
    InvalidReturns,
    ShipmentFailed,
)
from app.fulfilment.models import Shipment, ShipmentItem, ShipmentLot, ShipmentStatus
from app.fulfilment.schemas import DeliveryIn, ShipmentFailure
from app.fulfilment.views import items_of
from app.orders import lifecycle
from app.orders.models import CycleStatus, Order, OrderCycle, OrderLine


def _check_returns(data: DeliveryIn, shipped: dict[str, Decimal]) -> None:
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, back in enumerate(data.returns):
        here = f"returns[{i}]"
        if back.sku_id in seen:
            errors.append({"field": f"{here}.sku_id", "detail": "one return per SKU"})
        seen.add(back.sku_id)
        if shipped.get(back.sku_id, Decimal(0)) <= 0:
            errors.append({"field": f"{here}.sku_id", "detail": "not a SKU of this shipment"})
        elif back.quantity > shipped[back.sku_id]:
            errors.append(
                {
                    "field": f"{here}.quantity",
                    "detail": f"more than the {shipped[back.sku_id]} shipped",
                }
            )
    if errors:
        raise InvalidReturns(errors[0]["detail"], errors=errors)


def _refuse_settled(cycle: OrderCycle) -> None:
    if cycle.status in (CycleStatus.settling, CycleStatus.settled):
        raise CycleSettled(
            "The cycle is settled; record a return found now as a credit note on the invoice"
        )


async def _locked_shipment(
    session: AsyncSession, principal: Principal, shipment_id: str
) -> tuple[Shipment, OrderCycle]:
    shipment, cycle = await access.shipment(session, principal, shipment_id, deliver=True)
    _refuse_settled(cycle)
    await session.execute(select(Shipment.id).where(Shipment.id == shipment.id).with_for_update())
    await session.refresh(shipment)
    if shipment.status == ShipmentStatus.delivered:
        raise AlreadyDelivered(
            _l(
                "Received by {name} at {at}",
                name=shipment.received_by,
                at=shipment.delivered_at,
            )
        )
    if shipment.status == ShipmentStatus.failed:
        raise ShipmentFailed(_l("Marked failed: {reason}", reason=shipment.failure_reason))
    return shipment, cycle


async def _lines_and_orders(
    session: AsyncSession, items: Sequence[ShipmentItem]
) -> tuple[list[OrderLine], dict[str, Order]]:
    order_ids = sorted({i.order_id for i in items})
    lines = list(
        await session.scalars(select(OrderLine).where(col(OrderLine.order_id).in_(order_ids)))
    )
    orders = {
        o.id: o for o in await session.scalars(select(Order).where(col(Order.id).in_(order_ids)))
    }
    return lines, orders


async def _packed_lots(
    session: AsyncSession, items: Sequence[ShipmentItem]
) -> dict[str, list[ShipmentLot]]:
    by_item: dict[str, list[ShipmentLot]] = defaultdict(list)
    for row in await session.scalars(
        select(ShipmentLot)
        .where(col(ShipmentLot.item_id).in_([i.id for i in items]))
        .order_by(col(ShipmentLot.id))
    ):
        by_item[row.item_id].append(row)
    return by_item


def _kept_of_lots(item: ShipmentItem, lots: Sequence[ShipmentLot]) -> Decimal:
    """Share what the buyer kept of an item among its lots (largest remainder in
    thousandths, by quantity packed) and bill each lot: its weighed quantity prorated to
    what was kept of it, else what was kept. The item is billed the sum of its lots."""
    kept = item.quantity - item.returned_quantity
    if not lots:
        return Decimal(0)
    shares = split_largest_remainder(milli(kept), [milli(lot.quantity) for lot in lots])
    billed = Decimal(0)
    for lot, share in zip(lots, shares, strict=True):
        lot.kept_quantity = of_milli(share)
        packed_billed = (
            lot.kept_billed_quantity if lot.kept_billed_quantity is not None else lot.quantity
        )
        if lot.weight_kg is not None and lot.quantity:
            part = Fraction(lot.kept_quantity) / Fraction(lot.quantity)
            lot_billed = quantize(
                Decimal(part.numerator) * packed_billed / Decimal(part.denominator)
            )
        else:
            lot_billed = lot.kept_quantity
        lot.kept_billed_quantity = lot_billed
        billed += lot_billed
    return billed


async def deliver(
    session: AsyncSession,
    principal: Principal,
    shipment_id: str,
    data: DeliveryIn,
    *,
    now: datetime,
) -> Shipment:
    shipment, cycle = await _locked_shipment(session, principal, shipment_id)
    items = (await items_of(session, [shipment.id]))[shipment.id]
    by_sku: dict[str, list[ShipmentItem]] = defaultdict(list)
    for item in items:
        by_sku[item.sku_id].append(item)
    shipped = {s: sum((i.quantity for i in group), Decimal(0)) for s, group in by_sku.items()}
    _check_returns(data, shipped)

    reasons: dict[str, str] = {}
    for back in data.returns:
        group = by_sku[back.sku_id]
        shares = split_largest_remainder(milli(back.quantity), [milli(i.quantity) for i in group])
        for item, share in zip(group, shares, strict=True):
            item.returned_quantity = of_milli(share)
            item.return_reason = back.reason if share else None
            reasons[item.order_line_id] = back.reason

    lots_of = await _packed_lots(session, items)
    lines, orders = await _lines_and_orders(session, items)
    kept = {
        item.order_line_id: lifecycle.Delivered(
            delivered=item.quantity - item.returned_quantity,
            billed=_kept_of_lots(item, lots_of[item.id]),
            returned=item.returned_quantity,
            reason=reasons.get(item.order_line_id),
        )
        for item in items
    }
    lifecycle.deliver(session, orders, lines, kept, actor=principal, now=now)

    shipment.status = ShipmentStatus.delivered
    shipment.received_by = data.received_by
    shipment.delivered_at = now
    shipment.delivered_by_user_id = principal.user_id
    await session.flush()
    await audit.record(
        session,
        principal,
        action="shipment.deliver",
        object_type="shipment",
        object_id=shipment.id,
        organization_id=cycle.collection_centre_id,
        changes={
            "received_by": data.received_by,
            "returns": [
                {"sku_id": r.sku_id, "quantity": str(r.quantity), "reason": r.reason}
                for r in data.returns
            ],
        },
    )
    await _tell_delivered(session, shipment, cycle, items)
    return shipment


async def _tell_delivered(
    session: AsyncSession, shipment: Shipment, cycle: OrderCycle, items: Sequence[ShipmentItem]
) -> None:
    """The buyer hears what arrived: each product as confirmed, as packed (a shortfall at the
    centre cuts it) and what went back with the driver, and why."""
    sku_names = await names.skus(session, [i.sku_id for i in items])
    by_sku: dict[str, dict[str, Any]] = {}
    for item in items:
        row = by_sku.setdefault(
            item.sku_id,
            {
                "sku_id": item.sku_id,
                "sku_name": sku_names.get(item.sku_id, item.sku_id),
                "confirmed": Decimal(0),
                "packed": Decimal(0),
                "returned": Decimal(0),
                "reason": None,
            },
        )
        row["confirmed"] += item.confirmed_at_close
        row["packed"] += item.quantity
        row["returned"] += item.returned_quantity
        row["reason"] = row["reason"] or item.return_reason
    for row in by_sku.values():
        row["kept"] = row["packed"] - row["returned"]
    await events.emit(
        session,
        "shipment.delivered",
        key=shipment.id,
        audience=[shipment.buyer_id, shipment.collection_centre_id, cycle.network_id],
        payload={
            "shipment_id": shipment.id,
            "cycle_id": cycle.id,
            "buyer_id": shipment.buyer_id,
            "received_by": shipment.received_by,
            "delivered_at": shipment.delivered_at,
            "items": [by_sku[s] for s in sorted(by_sku, key=lambda s: by_sku[s]["sku_name"])],
        },
    )


async def fail(
    session: AsyncSession,
    principal: Principal,
    shipment_id: str,
    data: ShipmentFailure,
    *,
    now: datetime,
) -> Shipment:
    """The shipment never reached its buyer: none of it is billed, and none of its lots
    are paid to their associations (the goods stay with the centre)."""
    shipment, cycle = await _locked_shipment(session, principal, shipment_id)
    items = (await items_of(session, [shipment.id]))[shipment.id]
    for lots in (await _packed_lots(session, items)).values():
        for lot in lots:
            lot.kept_quantity = Decimal(0)
            lot.kept_billed_quantity = Decimal(0)
    lines, orders = await _lines_and_orders(session, items)
    packed = {item.order_line_id for item in items}
    lifecycle.delivery_failed(
        session,
        orders,
        [line for line in lines if line.id in packed],
        reason=data.reason,
        actor=principal,
        now=now,
    )
    shipment.status = ShipmentStatus.failed
    shipment.failure_reason = data.reason
    shipment.delivered_at = None
    shipment.delivered_by_user_id = principal.user_id
    await session.flush()
    await audit.record(
        session,
        principal,
        action="shipment.fail",
        object_type="shipment",
        object_id=shipment.id,
        organization_id=cycle.collection_centre_id,
        changes={"reason": data.reason},
    )
    return shipment

"""Recording a delivery: who received it, what came back, and what the buyer now owes.

Named rules: a SKU's returns are shared among the buyer's order lines of that SKU in
proportion to what was shipped on each (largest remainder in thousandths). A line's
delivered quantity is shipped minus returned; it is billed for that, or, when it carried
weighed variable-weight goods, for the real weight billed at packing prorated to what was
kept.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.principal import Principal
from app.core.money import split_largest_remainder
from app.core.quantity import quantize
from app.fulfilment import access
from app.fulfilment.consolidation import milli, of_milli
from app.fulfilment.exceptions import AlreadyDelivered, InvalidReturns
from app.fulfilment.models import Shipment, ShipmentItem, ShipmentStatus
from app.fulfilment.schemas import DeliveryIn
from app.fulfilment.shipments import final_total
from app.fulfilment.views import items_of
from app.orders.models import Order, OrderLine, OrderStatus


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


async def deliver(
    session: AsyncSession,
    principal: Principal,
    shipment_id: str,
    data: DeliveryIn,
    *,
    now: datetime,
) -> Shipment:
    shipment, cycle = await access.shipment(session, principal, shipment_id, deliver=True)
    await session.execute(select(Shipment.id).where(Shipment.id == shipment.id).with_for_update())
    await session.refresh(shipment)
    if shipment.status == ShipmentStatus.delivered:
        raise AlreadyDelivered(f"Received by {shipment.received_by} at {shipment.delivered_at}")
    items = (await items_of(session, [shipment.id]))[shipment.id]
    by_sku: dict[str, list[ShipmentItem]] = defaultdict(list)
    for item in items:
        by_sku[item.sku_id].append(item)
    shipped = {s: sum((i.quantity for i in group), Decimal(0)) for s, group in by_sku.items()}
    _check_returns(data, shipped)

    for back in data.returns:
        group = by_sku[back.sku_id]
        shares = split_largest_remainder(milli(back.quantity), [milli(i.quantity) for i in group])
        for item, share in zip(group, shares, strict=True):
            item.returned_quantity = of_milli(share)
            item.return_reason = back.reason if share else None

    order_ids = sorted({i.order_id for i in items})
    lines = (
        await session.scalars(select(OrderLine).where(col(OrderLine.order_id).in_(order_ids)))
    ).all()
    by_line = {item.order_line_id: item for item in items}
    for line in lines:
        packed = by_line.get(line.id)
        if packed is None:
            continue
        kept = packed.quantity - packed.returned_quantity
        line.delivered_quantity = kept
        if packed.real_weight_kg is not None and line.billed_quantity is not None:
            part = Fraction(kept) / Fraction(packed.quantity) if packed.quantity else Fraction(0)
            line.billed_quantity = quantize(
                Decimal(part.numerator) * line.billed_quantity / Decimal(part.denominator)
            )
        else:
            line.billed_quantity = kept
    orders = (await session.scalars(select(Order).where(col(Order.id).in_(order_ids)))).all()
    for order in orders:
        order.status = OrderStatus.delivered
        order.final_total_cents = final_total([x for x in lines if x.order_id == order.id])
        order.updated_at = now

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
    return shipment

"""Goods receipts: what the collection centre accepted and rejected of a delivery order.

Each receipt line is a lot with a unique code, its real weight and temperature. Partial and
repeated receipts add up. Chilled and frozen goods that arrive too warm are flagged, not
refused: the centre decides what to do with them, and the flag follows the lot.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.principal import Principal
from app.aggregation.models import DeliveryOrder, DeliveryOrderLine, DeliveryOrderStatus
from app.brands import names
from app.catalog.models import Product, Storage
from app.core.i18n import _l
from app.fulfilment import access
from app.fulfilment.exceptions import (
    CycleNotClosed,
    InvalidReceipt,
    LotCodeTaken,
    RejectionReasonRequired,
    WeightRequired,
)
from app.fulfilment.models import GoodsReceipt, Lot
from app.fulfilment.schemas import (
    DeliveryLineView,
    DeliveryOrderView,
    ReceiptCreate,
    ReceiptLinePublic,
    ReceiptPublic,
)
from app.orders.models import CycleStatus

# Above this, chilled and frozen goods are flagged at the door (the cold chain was broken).
CHILL_LIMIT_C = Decimal(8)
COLD_STORAGE = frozenset({Storage.chilled, Storage.frozen})


def too_warm(storage: str, temperature_c: Decimal | None) -> bool:
    return storage in COLD_STORAGE and temperature_c is not None and temperature_c > CHILL_LIMIT_C


def _check_lines(
    data: ReceiptCreate, lines: dict[str, DeliveryOrderLine], products: dict[str, Product]
) -> None:
    """Every problem of the body at once; the class of the first names the answer."""
    found: list[tuple[type[InvalidReceipt], dict[str, Any]]] = []
    codes = Counter(line.lot_code for line in data.lines)
    for i, line in enumerate(data.lines):
        here = f"lines[{i}]"
        if codes[line.lot_code] > 1:
            found.append(
                (InvalidReceipt, {"field": f"{here}.lot_code", "detail": "one line per lot code"})
            )
        target = lines.get(line.sku_id)
        if target is None:
            found.append(
                (
                    InvalidReceipt,
                    {"field": f"{here}.sku_id", "detail": "not a SKU of this delivery order"},
                )
            )
            continue
        if line.accepted_quantity + line.rejected_quantity <= 0:
            found.append(
                (
                    InvalidReceipt,
                    {"field": f"{here}.accepted_quantity", "detail": "nothing received"},
                )
            )
        if line.rejected_quantity > 0 and not line.reason:
            found.append(
                (
                    RejectionReasonRequired,
                    {"field": f"{here}.reason", "detail": "say why goods were rejected"},
                )
            )
        product = products.get(target.product_id)
        if (
            product is not None
            and product.variable_weight
            and line.accepted_quantity > 0
            and line.weight_kg is None
        ):
            found.append(
                (
                    WeightRequired,
                    {"field": f"{here}.weight_kg", "detail": "weigh variable-weight goods"},
                )
            )
    if found:
        problem, first = found[0]
        raise problem(first["detail"], errors=[error for _, error in found])


async def receive(
    session: AsyncSession,
    principal: Principal,
    delivery_order_id: str,
    data: ReceiptCreate,
    *,
    now: datetime,
) -> GoodsReceipt:
    order, cycle = await access.delivery_order(session, principal, delivery_order_id, receive=True)
    if cycle.status != CycleStatus.closed:
        raise CycleNotClosed(_l("The cycle is {status}", status=cycle.status))
    lines = {
        line.sku_id: line
        for line in await session.scalars(
            select(DeliveryOrderLine).where(DeliveryOrderLine.delivery_order_id == order.id)
        )
    }
    products = {
        p.id: p
        for p in await session.scalars(
            select(Product).where(col(Product.id).in_([x.product_id for x in lines.values()]))
        )
    }
    _check_lines(data, lines, products)
    codes = [line.lot_code for line in data.lines]
    taken = sorted(await session.scalars(select(Lot.code).where(col(Lot.code).in_(codes))))
    if taken:
        raise LotCodeTaken(
            _l("Lot code {code} was already received", code=taken[0]),
            errors=[
                {"field": "lot_code", "detail": _l("{code} is taken", code=code)} for code in taken
            ],
        )

    receipt = GoodsReceipt(
        delivery_order_id=order.id,
        cycle_id=cycle.id,
        association_id=order.association_id,
        collection_centre_id=order.collection_centre_id,
        received_by_user_id=principal.user_id,
        received_at=now,
    )
    session.add(receipt)
    lots = []
    for line in data.lines:
        target = lines[line.sku_id]
        product = products.get(target.product_id)
        lots.append(
            Lot(
                code=line.lot_code,
                receipt_id=receipt.id,
                delivery_order_id=order.id,
                cycle_id=cycle.id,
                association_id=order.association_id,
                sku_id=line.sku_id,
                product_id=target.product_id,
                product_version=target.product_version,
                accepted_quantity=line.accepted_quantity,
                rejected_quantity=line.rejected_quantity,
                rejection_reason=line.reason,
                weight_kg=line.weight_kg if line.accepted_quantity > 0 else None,
                temperature_c=line.temperature_c,
                temperature_alert=too_warm(
                    product.storage if product else Storage.ambient, line.temperature_c
                ),
                received_at=now,
            )
        )
    receipt.temperature_alert = any(lot.temperature_alert for lot in lots)
    session.add_all(lots)
    try:
        await session.flush()
    except IntegrityError:  # another receipt took a code between our check and our insert
        raise LotCodeTaken("A lot code of this receipt was just received") from None
    await _update_totals(session, order, lines)
    await audit.record(
        session,
        principal,
        action="receipt.create",
        object_type="goods_receipt",
        object_id=receipt.id,
        organization_id=order.collection_centre_id,
        changes={
            "delivery_order_id": order.id,
            "lots": [
                {
                    "code": lot.code,
                    "sku_id": lot.sku_id,
                    "accepted": str(lot.accepted_quantity),
                    "rejected": str(lot.rejected_quantity),
                    "temperature_alert": lot.temperature_alert,
                }
                for lot in lots
            ],
        },
    )
    return receipt


async def received_totals(
    session: AsyncSession, delivery_order_ids: Sequence[str]
) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    """(accepted, rejected) so far per (delivery order, SKU), in one query."""
    totals: dict[tuple[str, str], tuple[Decimal, Decimal]] = defaultdict(
        lambda: (Decimal(0), Decimal(0))
    )
    for lot in await session.scalars(
        select(Lot).where(col(Lot.delivery_order_id).in_(list(delivery_order_ids)))
    ):
        accepted, rejected = totals[(lot.delivery_order_id, lot.sku_id)]
        totals[(lot.delivery_order_id, lot.sku_id)] = (
            accepted + lot.accepted_quantity,
            rejected + lot.rejected_quantity,
        )
    return totals


async def _update_totals(
    session: AsyncSession, delivery: DeliveryOrder, lines: dict[str, DeliveryOrderLine]
) -> None:
    totals = await received_totals(session, [delivery.id])
    complete = True
    for sku_id, line in lines.items():
        accepted, rejected = totals[(delivery.id, sku_id)]
        line.accepted_quantity = accepted
        complete = complete and accepted + rejected >= line.quantity
    delivery.status = DeliveryOrderStatus.received if complete else DeliveryOrderStatus.open
    await session.flush()


def lot_line(lot: Lot, sku_name: str, product_name: str) -> ReceiptLinePublic:
    return ReceiptLinePublic(
        lot_code=lot.code,
        sku_id=lot.sku_id,
        sku_name=sku_name,
        product_id=lot.product_id,
        product_name=product_name,
        product_version=lot.product_version,
        accepted_quantity=lot.accepted_quantity,
        rejected_quantity=lot.rejected_quantity,
        reason=lot.rejection_reason,
        weight_kg=lot.weight_kg,
        temperature_c=lot.temperature_c,
        temperature_alert=lot.temperature_alert,
    )


async def receipt_publics(
    session: AsyncSession, receipts: Sequence[GoodsReceipt]
) -> list[ReceiptPublic]:
    """Receipts with their lots and names, in four queries whatever their number."""
    lots: dict[str, list[ReceiptLinePublic]] = {r.id: [] for r in receipts}
    found = (
        await session.scalars(
            select(Lot).where(col(Lot.receipt_id).in_(list(lots))).order_by(col(Lot.code))
        )
    ).all()
    sku_names = await names.skus(session, (lot.sku_id for lot in found))
    products = await names.products(session, (lot.product_id for lot in found))
    orgs = await names.organizations(
        session,
        [r.association_id for r in receipts] + [r.collection_centre_id for r in receipts],
    )
    for lot in found:
        lots[lot.receipt_id].append(
            lot_line(lot, sku_names.get(lot.sku_id, ""), products.get(lot.product_id, ""))
        )
    return [
        ReceiptPublic(
            id=r.id,
            delivery_order_id=r.delivery_order_id,
            cycle_id=r.cycle_id,
            association_id=r.association_id,
            association_name=orgs.get(r.association_id, names.UNKNOWN_ORG).name,
            parish=orgs.get(r.association_id, names.UNKNOWN_ORG).parish,
            collection_centre_id=r.collection_centre_id,
            collection_centre_name=orgs.get(r.collection_centre_id, names.UNKNOWN_ORG).name,
            received_at=r.received_at,
            received_by_user_id=r.received_by_user_id,
            temperature_alert=r.temperature_alert,
            lines=lots[r.id],
        )
        for r in receipts
    ]


async def delivery_order_view(
    session: AsyncSession, principal: Principal, delivery_order_id: str
) -> DeliveryOrderView:
    order, _ = await access.delivery_order(session, principal, delivery_order_id)
    lines = (
        await session.scalars(
            select(DeliveryOrderLine)
            .where(DeliveryOrderLine.delivery_order_id == order.id)
            .order_by(col(DeliveryOrderLine.sku_id))
        )
    ).all()
    receipts = (
        await session.scalars(
            select(GoodsReceipt)
            .where(GoodsReceipt.delivery_order_id == order.id)
            .order_by(col(GoodsReceipt.received_at), col(GoodsReceipt.id))
        )
    ).all()
    totals = await received_totals(session, [order.id])
    sku_names = await names.skus(session, (line.sku_id for line in lines))
    products = await names.products(session, (line.product_id for line in lines))
    orgs = await names.organizations(session, [order.association_id, order.collection_centre_id])
    views = []
    for line in lines:
        accepted, rejected = totals[(order.id, line.sku_id)]
        views.append(
            DeliveryLineView(
                sku_id=line.sku_id,
                sku_name=sku_names.get(line.sku_id, ""),
                quantity=line.quantity,
                producer_price_cents=line.producer_price_cents,
                product_id=line.product_id,
                product_name=products.get(line.product_id, ""),
                product_version=line.product_version,
                accepted_quantity=accepted,
                rejected_quantity=rejected,
                outstanding_quantity=max(Decimal(0), line.quantity - accepted - rejected),
                supplied_quantity=line.supplied_quantity,
            )
        )
    return DeliveryOrderView(
        id=order.id,
        cycle_id=order.cycle_id,
        association_id=order.association_id,
        association_name=orgs.get(order.association_id, names.UNKNOWN_ORG).name,
        parish=orgs.get(order.association_id, names.UNKNOWN_ORG).parish,
        collection_centre_id=order.collection_centre_id,
        collection_centre_name=orgs.get(order.collection_centre_id, names.UNKNOWN_ORG).name,
        status=order.status,
        lines=views,
        receipts=await receipt_publics(session, receipts),
    )

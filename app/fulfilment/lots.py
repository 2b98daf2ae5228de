"""Traceability: from a lot code (printed as a QR code on every label) to the association,
its parish, the product sheet version, the receipt, and the buyers the lot went to.

Any signed-in user may trace a lot. Who got it is shown in full to the centre, the network
and the association that produced it (they are the ones who act on a recall); a buyer sees
its own part only, so buyers do not learn each other's purchases.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.models import Organization
from app.accounts.principal import Principal
from app.brands.models import BrandSku
from app.catalog.models import Product, ProductVersion
from app.fulfilment import access
from app.fulfilment.exceptions import LotNotFound
from app.fulfilment.models import Lot, Shipment, ShipmentLot
from app.fulfilment.schemas import LotBuyer, LotTrace
from app.orders import cycles


async def trace(session: AsyncSession, principal: Principal, code: str) -> LotTrace:
    lot = await session.scalar(select(Lot).where(Lot.code == code))
    if lot is None:
        raise LotNotFound()
    cycle = await cycles.get_cycle(session, lot.cycle_id)
    sees_all = access.oversees(principal, cycle) or principal.is_member(lot.association_id)
    rows = await session.execute(
        select(col(ShipmentLot.quantity), col(Shipment.id), col(Shipment.buyer_id))
        .join(Shipment, col(Shipment.id) == col(ShipmentLot.shipment_id))
        .where(ShipmentLot.lot_id == lot.id)
    )
    got: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for quantity, shipment_id, buyer_id in rows:
        if sees_all or principal.is_member(buyer_id):
            got[(buyer_id, shipment_id)] += quantity
    orgs = {
        o.id: o
        for o in await session.scalars(
            select(Organization).where(
                col(Organization.id).in_({lot.association_id, *(b for b, _ in got)})
            )
        )
    }
    product = await session.get(Product, lot.product_id)
    version = await session.scalar(
        select(ProductVersion).where(
            ProductVersion.product_id == lot.product_id,
            ProductVersion.version == lot.product_version,
        )
    )
    snapshot = version.snapshot if version is not None else {}
    origin = snapshot.get("origin") or {}
    association = orgs[lot.association_id]
    sku = await session.get(BrandSku, lot.sku_id)
    return LotTrace(
        lot_code=lot.code,
        association_id=lot.association_id,
        association_name=association.name,
        parish=origin.get("parish") or (product.origin_parish if product else association.parish),
        canton=origin.get("canton") or (product.origin_canton if product else None),
        province=origin.get("province") or (product.origin_province if product else None),
        product_id=lot.product_id,
        product_version=lot.product_version,
        product_name=snapshot.get("name") or (product.name if product else ""),
        sku_id=lot.sku_id,
        sku_name=sku.name if sku else "",
        received_at=lot.received_at,
        accepted_quantity=lot.accepted_quantity,
        weight_kg=lot.weight_kg,
        temperature_c=lot.temperature_c,
        temperature_alert=lot.temperature_alert,
        receipt_id=lot.receipt_id,
        buyers=[
            LotBuyer(
                buyer_id=buyer_id,
                buyer_name=orgs[buyer_id].name,
                shipment_id=shipment_id,
                quantity=quantity,
            )
            for (buyer_id, shipment_id), quantity in sorted(got.items())
        ],
    )

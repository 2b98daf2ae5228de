"""Offers: what each approved supplier association can deliver of a SKU in a cycle."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.brands import names
from app.brands import views as brand_views
from app.brands.exceptions import SkuNotFound
from app.brands.models import Brand, BrandSku
from app.core.i18n import _l
from app.core.quantity import is_multiple
from app.core.timeutil import utcnow
from app.orders import stock
from app.orders.cycles import event, get_cycle
from app.orders.exceptions import (
    CycleNotEditable,
    NotAnApprovedSupplier,
    NotPackMultiple,
    OfferBelowReserved,
    OfferExists,
    OfferNotFound,
)
from app.orders.models import CycleStatus, Offer, OrderCycle
from app.orders.schemas import OfferCreate, OfferPublic, OfferUpdate

OFFER_STATES = (CycleStatus.scheduled, CycleStatus.open)


def _ensure_takes_offers(cycle: OrderCycle, now: datetime) -> None:
    if cycle.status not in OFFER_STATES or now >= cycle.closes_at:
        raise CycleNotEditable(
            _l("The cycle is {status} and its cut-off has passed", status=cycle.status)
        )


async def sku_of_network(session: AsyncSession, sku_id: str, network_id: str) -> BrandSku:
    row = (
        await session.execute(
            select(BrandSku)
            .join(Brand, col(Brand.id) == col(BrandSku.brand_id))
            .where(BrandSku.id == sku_id, Brand.network_id == network_id)
        )
    ).scalar_one_or_none()
    if row is None:
        raise SkuNotFound("No SKU of the cycle's network has this id")
    return row


def _check_packs(sku: BrandSku, **quantities: Decimal) -> None:
    errors = [
        {"field": name, "detail": f"must be a multiple of the pack size {sku.pack_size}"}
        for name, q in quantities.items()
        if q and not is_multiple(q, sku.pack_size)
    ]
    if errors:
        raise NotPackMultiple(errors[0]["detail"], errors=errors)


async def create_offer(
    session: AsyncSession, principal: Principal, cycle_id: str, data: OfferCreate
) -> Offer:
    principal.require_member(data.association_id)
    cycle = await get_cycle(session, cycle_id)
    now = utcnow()
    _ensure_takes_offers(cycle, now)
    sku = await sku_of_network(session, data.sku_id, cycle.network_id)
    _check_packs(sku, quantity=data.quantity, min_delivery=data.min_delivery)
    if data.min_delivery > data.quantity:
        raise NotPackMultiple(
            "min_delivery cannot exceed the quantity",
            errors=[{"field": "min_delivery", "detail": "cannot exceed the quantity"}],
        )
    eligible = (await brand_views.eligible_suppliers(session, [sku], today=now.date())).get(
        sku.id, []
    )
    supplier = next((s for s in eligible if s.association_id == data.association_id), None)
    if supplier is None:
        raise NotAnApprovedSupplier(
            errors=[
                {
                    "field": "association_id",
                    "detail": "no approved, licensed sheet of this association supplies the SKU",
                }
            ]
        )
    existing = await session.scalar(
        select(Offer.id).where(
            Offer.cycle_id == cycle.id,
            Offer.sku_id == sku.id,
            Offer.association_id == data.association_id,
        )
    )
    if existing:
        raise OfferExists(_l("Change offer {offer_id} instead", offer_id=existing))
    offer = Offer(
        cycle_id=cycle.id,
        sku_id=sku.id,
        association_id=data.association_id,
        supplier_id=supplier.id,
        quantity=data.quantity,
        min_delivery=data.min_delivery,
    )
    session.add(offer)
    await session.flush()
    await stock.add_offered(session, cycle.id, sku.id, data.quantity)
    event(session, "offer.created", cycle_id=cycle.id, actor=principal, offer_id=offer.id)
    await audit.record(
        session,
        principal,
        action="offer.create",
        object_type="offer",
        object_id=offer.id,
        organization_id=data.association_id,
        changes=audit.diff(None, {"sku_id": sku.id, "quantity": data.quantity}),
    )
    return offer


async def update_offer(
    session: AsyncSession, principal: Principal, cycle_id: str, offer_id: str, data: OfferUpdate
) -> Offer:
    """Raise an offer any time before the cut-off; lower it down to what is not reserved."""
    offer = await session.scalar(
        select(Offer).where(Offer.id == offer_id, Offer.cycle_id == cycle_id)
    )
    if offer is None or not principal.is_member(offer.association_id, Role.staff):
        raise OfferNotFound()
    cycle = await get_cycle(session, cycle_id)
    _ensure_takes_offers(cycle, utcnow())
    sku = await session.get(BrandSku, offer.sku_id)
    assert sku is not None
    min_delivery = data.min_delivery if data.min_delivery is not None else offer.min_delivery
    _check_packs(sku, quantity=data.quantity, min_delivery=min_delivery)
    delta = data.quantity - offer.quantity
    if delta > 0:
        await stock.add_offered(session, cycle.id, sku.id, delta)
    elif delta < 0 and not await stock.remove_offered(session, cycle.id, sku.id, -delta):
        available = (await stock.stock_of(session, cycle.id, [sku.id]))[sku.id].available
        raise OfferBelowReserved(
            _l("At most {available} can be taken off this SKU's supply now", available=available),
            errors=[{"field": "quantity", "detail": _l("lower it by at most {n}", n=available)}],
        )
    before = {"quantity": offer.quantity, "min_delivery": offer.min_delivery}
    offer.quantity = data.quantity
    offer.min_delivery = min(min_delivery, data.quantity)
    offer.updated_at = utcnow()
    await session.flush()
    event(session, "offer.changed", cycle_id=cycle.id, actor=principal, offer_id=offer.id)
    await audit.record(
        session,
        principal,
        action="offer.update",
        object_type="offer",
        object_id=offer.id,
        organization_id=offer.association_id,
        changes=audit.diff(
            before, {"quantity": offer.quantity, "min_delivery": offer.min_delivery}
        ),
    )
    return offer


async def list_offers(
    session: AsyncSession, principal: Principal, cycle_id: str
) -> Sequence[Offer]:
    """The network's members see every offer; an association sees its own."""
    cycle = await get_cycle(session, cycle_id)
    stmt = select(Offer).where(Offer.cycle_id == cycle.id).order_by(col(Offer.id))
    if not principal.is_member(cycle.network_id):
        stmt = stmt.where(col(Offer.association_id).in_(list(principal.roles)))
    return (await session.scalars(stmt)).all()


async def offer_publics(session: AsyncSession, rows: Sequence[Offer]) -> list[OfferPublic]:
    """Offers with their SKU's and association's names (two queries whatever their number)."""
    sku_names = await names.skus(session, (o.sku_id for o in rows))
    orgs = await names.organizations(session, (o.association_id for o in rows))
    return [
        OfferPublic.model_validate(
            {
                **o.model_dump(),
                "sku_name": sku_names.get(o.sku_id, ""),
                "association_name": orgs.get(o.association_id, names.UNKNOWN_ORG).name,
                "parish": orgs.get(o.association_id, names.UNKNOWN_ORG).parish,
            }
        )
        for o in rows
    ]

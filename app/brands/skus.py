"""Brand SKUs, their price tiers and the sheets that supply them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.models import Organization, Role
from app.accounts.principal import Principal
from app.brands import pricing
from app.brands.exceptions import (
    InvalidSku,
    InvalidTiers,
    SkuNotFound,
    SupplierExists,
    SupplierNotFound,
    SupplierRulesFailed,
    TierBelowProducerPrice,
)
from app.brands.models import (
    Brand,
    BrandLicense,
    BrandSku,
    LicenseStatus,
    SkuPriceTier,
    SkuSupplier,
    SupplierStatus,
)
from app.brands.rules import BrandRules, Certification, SheetFacts, SkuFacts, check_supplier
from app.brands.schemas import SkuCreate, SkuUpdate, TierIn
from app.brands.service import check_categories, get_brand, managed_brand
from app.catalog import service as catalog_service
from app.catalog.exceptions import InvalidGtin, ProductNotFound
from app.catalog.models import Product, Unit
from app.core.i18n import Joined, _l
from app.core.pagination import PageParams, paginate
from app.core.text import contains_all, search_text, terms
from app.core.timeutil import utcnow

WEIGHED_UNITS = {Unit.kg: Decimal("1"), Unit.lb: Decimal("0.45359237")}


def _check_tiers(tiers: Sequence[TierIn], producer_price_cents: int) -> list[pricing.Tier]:
    plain = [pricing.Tier(t.min_quantity, t.unit_price_cents) for t in tiers]
    errors = pricing.tier_problems(plain, producer_price_cents)
    below = [e for e in errors if e.get("rule") == "tier_below_producer_price"]
    if below:
        raise TierBelowProducerPrice(below[0]["detail"], errors=errors)
    if errors:
        raise InvalidTiers(errors[0]["detail"], errors=errors)
    return plain


def _gtin(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return catalog_service.normalize_gtin(value)
    except ValueError as exc:
        raise InvalidGtin(str(exc), errors=[{"field": "gtin", "detail": str(exc)}]) from None


def _check_weight(unit: str, unit_weight_kg: Decimal | None) -> None:
    if unit not in WEIGHED_UNITS and unit_weight_kg is None:
        raise InvalidSku(
            "A SKU not sold by weight needs unit_weight_kg, for loads and routes",
            errors=[
                {"field": "unit_weight_kg", "detail": _l("required for unit {unit}", unit=unit)}
            ],
        )


def unit_weight_kg(sku: BrandSku) -> Decimal:
    """Kilograms in one sale unit of the SKU."""
    if sku.unit_weight_kg is not None:
        return sku.unit_weight_kg
    return WEIGHED_UNITS[Unit(sku.unit)]


def _sku_values(sku: BrandSku, tiers: Sequence[pricing.Tier]) -> dict[str, Any]:
    values = {c: getattr(sku, c) for c in ("name", "category", "unit", "pack_size", "gtin")}
    values |= {
        "producer_price_cents": sku.producer_price_cents,
        "solidarity_fund_bps": sku.solidarity_fund_bps,
        "logistics_share_bps": sku.logistics_share_bps,
        "unit_weight_kg": sku.unit_weight_kg,
        "tiers": [[str(t.min_quantity), t.unit_price_cents] for t in tiers],
    }
    return values


async def tiers_of(session: AsyncSession, sku_ids: Sequence[str]) -> dict[str, list[pricing.Tier]]:
    """Every SKU's tiers, by increasing volume (one query)."""
    out: dict[str, list[pricing.Tier]] = {sku_id: [] for sku_id in sku_ids}
    rows = await session.scalars(
        select(SkuPriceTier)
        .where(col(SkuPriceTier.sku_id).in_(set(sku_ids)))
        .order_by(col(SkuPriceTier.sku_id), col(SkuPriceTier.min_quantity))
    )
    for row in rows:
        out[row.sku_id].append(pricing.Tier(row.min_quantity, row.unit_price_cents))
    return out


async def _replace_tiers(session: AsyncSession, sku_id: str, tiers: Sequence[pricing.Tier]) -> None:
    await session.execute(delete(SkuPriceTier).where(col(SkuPriceTier.sku_id) == sku_id))
    session.add_all(
        SkuPriceTier(
            sku_id=sku_id, min_quantity=t.min_quantity, unit_price_cents=t.unit_price_cents
        )
        for t in tiers
    )
    await session.flush()


async def create_sku(
    session: AsyncSession, principal: Principal, brand_id: str, data: SkuCreate
) -> BrandSku:
    brand = await managed_brand(session, principal, brand_id)
    await check_categories(session, {"category": [data.category]})
    tiers = _check_tiers(data.tiers, data.producer_price_cents)
    _check_weight(data.unit, data.unit_weight_kg)
    sku = BrandSku(
        brand_id=brand.id,
        name=data.name,
        category=data.category,
        unit=data.unit,
        pack_size=data.pack_size,
        unit_weight_kg=data.unit_weight_kg,
        gtin=_gtin(data.gtin),
        producer_price_cents=data.producer_price_cents,
        solidarity_fund_bps=data.solidarity_fund_bps,
        logistics_share_bps=data.logistics_share_bps,
        search_text=search_text(data.name, brand.name, data.category),
    )
    session.add(sku)
    await session.flush()
    await _replace_tiers(session, sku.id, tiers)
    await audit.record(
        session,
        principal,
        action="sku.create",
        object_type="brand_sku",
        object_id=sku.id,
        organization_id=brand.network_id,
        changes=audit.diff(None, _sku_values(sku, tiers)),
    )
    return sku


async def get_sku(session: AsyncSession, sku_id: str) -> BrandSku:
    sku = await session.get(BrandSku, sku_id)
    if sku is None:
        raise SkuNotFound()
    return sku


async def _managed_sku(
    session: AsyncSession, principal: Principal, sku_id: str
) -> tuple[BrandSku, Brand]:
    sku = await get_sku(session, sku_id)
    brand = await get_brand(session, sku.brand_id)
    principal.require_member(brand.network_id, Role.admin, not_found=SkuNotFound)
    return sku, brand


async def update_sku(
    session: AsyncSession, principal: Principal, sku_id: str, data: SkuUpdate
) -> BrandSku:
    """Change prices and tiers; every tier is checked again against the producer price."""
    sku, brand = await _managed_sku(session, principal, sku_id)
    old_tiers = (await tiers_of(session, [sku.id]))[sku.id]
    before = _sku_values(sku, old_tiers)
    producer = data.producer_price_cents or sku.producer_price_cents
    if data.tiers is not None:
        tiers = _check_tiers(data.tiers, producer)
    else:
        tiers = _check_tiers(
            [
                TierIn(min_quantity=t.min_quantity, unit_price_cents=t.unit_price_cents)
                for t in old_tiers
            ],
            producer,
        )
    for name in ("name", "unit_weight_kg", "solidarity_fund_bps", "logistics_share_bps"):
        value = getattr(data, name)
        if value is not None:
            setattr(sku, name, value)
    sku.producer_price_cents = producer
    sku.search_text = search_text(sku.name, brand.name, sku.category)
    sku.updated_at = utcnow()
    await session.flush()
    if data.tiers is not None:
        await _replace_tiers(session, sku.id, tiers)
    await audit.record(
        session,
        principal,
        action="sku.update",
        object_type="brand_sku",
        object_id=sku.id,
        organization_id=brand.network_id,
        changes=audit.diff(before, _sku_values(sku, tiers)),
    )
    return sku


async def list_skus(
    session: AsyncSession,
    *,
    brand_id: str | None,
    category: str | None,
    q: str | None,
    page: PageParams,
    public_only: bool = False,
) -> tuple[Sequence[BrandSku], str | None]:
    """A page of SKUs; ``public_only``: of the networks that show their catalogue to anyone."""
    stmt = select(BrandSku)
    if public_only:
        public_brands = (
            select(Brand.id)
            .join(Organization, col(Organization.id) == col(Brand.network_id))
            .where(col(Organization.public_catalogue))
        )
        stmt = stmt.where(col(BrandSku.brand_id).in_(public_brands))
    if brand_id is not None:
        stmt = stmt.where(BrandSku.brand_id == brand_id)
    if category is not None:
        stmt = stmt.where(BrandSku.category == category)
    if q:
        stmt = stmt.where(contains_all(col(BrandSku.search_text), terms(q)))
    return await paginate(session, stmt, key=col(BrandSku.id), params=page)


# --- suppliers -----------------------------------------------------------------------------


def rules_of(brand: Brand) -> BrandRules:
    return BrandRules(
        territory_provinces=brand.territory_provinces,
        territory_cantons=brand.territory_cantons,
        required_certifications=brand.required_certifications,
        allowed_categories=brand.allowed_categories,
        sanitary_registration_required_for=brand.sanitary_registration_required_for,
    )


def sheet_facts(product: Product, certifications: Sequence[Any]) -> SheetFacts:
    return SheetFacts(
        status=product.status,
        category=product.category,
        unit=product.unit,
        origin_province=product.origin_province,
        origin_canton=product.origin_canton,
        certifications=tuple(Certification(c.kind, c.expires_on) for c in certifications),
        sanitary_number=product.sanitary_number,
        sanitary_expires_on=product.sanitary_expires_on,
    )


async def approve_supplier(
    session: AsyncSession, principal: Principal, sku_id: str, product_id: str, *, today: date
) -> SkuSupplier:
    """Approve a sheet to supply the SKU, or 422 listing every brand rule it fails."""
    sku, brand = await _managed_sku(session, principal, sku_id)
    product = (await catalog_service.get_products(session, [product_id])).get(product_id)
    if product is None:
        raise ProductNotFound()
    certifications = (await catalog_service.certifications_of(session, [product_id]))[product_id]
    license_status = await session.scalar(
        select(BrandLicense.status).where(
            BrandLicense.brand_id == brand.id,
            BrandLicense.association_id == product.association_id,
        )
    )
    failures = check_supplier(
        rules_of(brand),
        SkuFacts(category=sku.category, unit=sku.unit),
        sheet_facts(product, certifications),
        licensed=license_status == LicenseStatus.active,
        license_suspended=license_status == LicenseStatus.suspended,
        today=today,
    )
    if failures:
        raise SupplierRulesFailed(
            Joined([f.message for f in failures], "; "),
            errors=[{"rule": f.rule, "detail": f.message} for f in failures],
        )
    supplier = await session.scalar(
        select(SkuSupplier).where(
            SkuSupplier.sku_id == sku.id, SkuSupplier.product_id == product_id
        )
    )
    if supplier is not None and supplier.status == SupplierStatus.approved:
        raise SupplierExists()
    # A withdrawn or suspended link is approved again once the sheet passes.
    if supplier is None:
        supplier = SkuSupplier(
            sku_id=sku.id,
            product_id=product.id,
            association_id=product.association_id,
            product_version=product.version,
        )
        session.add(supplier)
    else:
        supplier.status = SupplierStatus.approved
        supplier.product_version = product.version
        supplier.approved_at = utcnow()
        supplier.withdrawn_at = None
        supplier.suspended_at = None
        supplier.suspension_errors = None
    await session.flush()
    await audit.record(
        session,
        principal,
        action="supplier.approve",
        object_type="sku_supplier",
        object_id=supplier.id,
        organization_id=brand.network_id,
        changes=audit.diff(
            None,
            {
                "sku_id": sku.id,
                "product_id": product.id,
                "association_id": product.association_id,
                "product_version": product.version,
            },
        ),
    )
    return supplier


async def withdraw_supplier(
    session: AsyncSession, principal: Principal, sku_id: str, supplier_id: str
) -> None:
    sku, brand = await _managed_sku(session, principal, sku_id)
    supplier = await session.scalar(
        select(SkuSupplier).where(SkuSupplier.id == supplier_id, SkuSupplier.sku_id == sku.id)
    )
    if supplier is None:
        raise SupplierNotFound()
    if supplier.status != SupplierStatus.withdrawn:
        before = supplier.status
        supplier.status = SupplierStatus.withdrawn
        supplier.withdrawn_at = utcnow()
        supplier.suspended_at = None
        supplier.suspension_errors = None
        await session.flush()
        await audit.record(
            session,
            principal,
            action="supplier.withdraw",
            object_type="sku_supplier",
            object_id=supplier.id,
            organization_id=brand.network_id,
            changes=audit.diff({"status": before}, {"status": supplier.status}),
        )

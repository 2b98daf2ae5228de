"""The public shape of brand SKUs, built for a whole page at once in a fixed number of queries.

Suppliers are shown with ``eligible``: whether, today, the licence is active and the sheet
still meets every brand rule (a suspended licence or an expired registration takes the
supplier out of new cycles without deleting the approval). A link suspended when its sheet
was published again (see ``recheck``) is not among a SKU's suppliers; the SKU's supplier
list shows it with the rules it failed to its association and the brand's network.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.models import Organization
from app.accounts.principal import Principal
from app.brands import pricing
from app.brands.models import (
    Brand,
    BrandLicense,
    BrandSku,
    LicenseStatus,
    SkuSupplier,
    SupplierStatus,
)
from app.brands.rules import SkuFacts, check_supplier
from app.brands.schemas import (
    Photo,
    PriceBreakdown,
    RuleFailure,
    SkuPublic,
    SupplierPublic,
    TierPublic,
)
from app.brands.skus import rules_of, sheet_facts, tiers_of
from app.catalog import service as catalog_service
from app.catalog.models import Unit
from app.catalog.sheets import image_url, images_of


@dataclass(frozen=True)
class SupplierState:
    supplier: SkuSupplier
    association_name: str
    parish: str
    eligible: bool
    product_name: str  # as published: a sheet's draft is its association's own


async def supplier_states(
    session: AsyncSession,
    skus: Sequence[BrandSku],
    brands: Mapping[str, Brand],
    *,
    today: date,
    approved_only: bool = True,
) -> dict[str, list[SupplierState]]:
    """Every SKU's suppliers with their eligibility today (four queries for any page)."""
    out: dict[str, list[SupplierState]] = {sku.id: [] for sku in skus}
    if not skus:
        return out
    stmt = (
        select(SkuSupplier, Organization.name, Organization.parish)
        .join(Organization, col(Organization.id) == col(SkuSupplier.association_id))
        .where(col(SkuSupplier.sku_id).in_(list(out)))
        .order_by(col(SkuSupplier.id))
    )
    if approved_only:
        stmt = stmt.where(SkuSupplier.status == SupplierStatus.approved)
    rows = (await session.execute(stmt)).all()
    if not rows:
        return out
    product_ids = [row[0].product_id for row in rows]
    products = await catalog_service.get_products(session, product_ids)
    certifications = await catalog_service.certifications_of(session, product_ids)
    active = {
        (lic.brand_id, lic.association_id)
        for lic in await session.scalars(
            select(BrandLicense).where(
                col(BrandLicense.brand_id).in_({sku.brand_id for sku in skus}),
                BrandLicense.status == LicenseStatus.active,
            )
        )
    }
    by_id = {sku.id: sku for sku in skus}
    for supplier, name, parish in rows:
        sku = by_id[supplier.sku_id]
        brand = brands[sku.brand_id]
        product = products[supplier.product_id]
        failures = check_supplier(
            rules_of(brand),
            SkuFacts(category=sku.category, unit=sku.unit),
            sheet_facts(product, certifications.get(product.id, [])),
            licensed=(brand.id, supplier.association_id) in active,
            today=today,
        )
        eligible = supplier.status == SupplierStatus.approved and not failures
        out[sku.id].append(SupplierState(supplier, name, parish, eligible, product.name))
    return out


def supplier_public(state: SupplierState, *, show_reason: bool = True) -> SupplierPublic:
    s = state.supplier
    errors = [RuleFailure.model_validate(e) for e in s.suspension_errors or []]
    if not show_reason:
        errors = []
    return SupplierPublic(
        id=s.id,
        sku_id=s.sku_id,
        product_id=s.product_id,
        product_name=state.product_name,
        product_version=s.product_version,
        association_id=s.association_id,
        association_name=state.association_name,
        parish=state.parish,
        status=s.status,
        eligible=state.eligible,
        approved_at=s.approved_at,
        suspended_at=s.suspended_at,
        reason="; ".join(e.detail for e in errors) or None,
        errors=errors,
    )


def supplier_publics(
    states: Sequence[SupplierState], principal: Principal, *, network_id: str
) -> list[SupplierPublic]:
    """Why a link is suspended is told to its association and the brand's network only."""
    in_network = principal.is_member(network_id)
    return [
        supplier_public(
            st, show_reason=in_network or principal.is_member(st.supplier.association_id)
        )
        for st in states
    ]


def price_breakdown(sku: BrandSku, tier: pricing.Tier) -> PriceBreakdown:
    parts = pricing.breakdown(
        tier.unit_price_cents,
        producer_price_cents=sku.producer_price_cents,
        solidarity_fund_bps=sku.solidarity_fund_bps,
        logistics_share_bps=sku.logistics_share_bps,
    )
    return PriceBreakdown(
        unit_price_cents=parts.unit_price_cents,
        producer_cents=parts.producer_cents,
        logistics_cents=parts.logistics_cents,
        network_cents=parts.network_cents,
        solidarity_fund_cents=parts.solidarity_fund_cents,
        tier_min_quantity=tier.min_quantity,
    )


async def brands_with_currency(
    session: AsyncSession, brand_ids: set[str]
) -> tuple[dict[str, Brand], dict[str, str]]:
    rows = (
        await session.execute(
            select(Brand, Organization.currency)
            .join(Organization, col(Organization.id) == col(Brand.network_id))
            .where(col(Brand.id).in_(brand_ids))
        )
    ).all()
    return {b.id: b for b, _ in rows}, {b.id: currency or "USD" for b, currency in rows}


async def sku_publics(
    session: AsyncSession,
    skus: Sequence[BrandSku],
    *,
    today: date,
    volumes: Mapping[str, Decimal] | None = None,
    available: Mapping[str, Decimal] | None = None,
) -> list[SkuPublic]:
    """Public SKUs with their price at the tier reached by ``volumes`` (default: none yet)."""
    if not skus:
        return []
    brands, currencies = await brands_with_currency(session, {s.brand_id for s in skus})
    tiers = await tiers_of(session, [s.id for s in skus])
    suppliers = await supplier_states(session, skus, brands, today=today)
    product_ids = {st.supplier.product_id for states in suppliers.values() for st in states}
    images = await images_of(session, product_ids)
    out = []
    for sku in skus:
        volume = (volumes or {}).get(sku.id, Decimal(0))
        tier = pricing.tier_for(tiers[sku.id], volume)
        photos: dict[str, Photo] = {}
        for state in suppliers[sku.id]:
            for image in images.get(state.supplier.product_id, []):
                photos.setdefault(
                    image.id,
                    Photo(product_id=image.product_id, url=image_url(image.product_id, image.id)),
                )
        out.append(
            SkuPublic(
                id=sku.id,
                brand_id=sku.brand_id,
                brand_name=brands[sku.brand_id].name,
                network_id=brands[sku.brand_id].network_id,
                currency=currencies[sku.brand_id],
                name=sku.name,
                category=sku.category,
                unit=Unit(sku.unit),
                pack_size=sku.pack_size,
                unit_weight_kg=sku.unit_weight_kg,
                gtin=sku.gtin,
                producer_price_cents=sku.producer_price_cents,
                solidarity_fund_bps=sku.solidarity_fund_bps,
                logistics_share_bps=sku.logistics_share_bps,
                tiers=[
                    TierPublic(min_quantity=t.min_quantity, unit_price_cents=t.unit_price_cents)
                    for t in tiers[sku.id]
                ],
                current_unit_price_cents=tier.unit_price_cents,
                price_breakdown=price_breakdown(sku, tier),
                suppliers=[supplier_public(st) for st in suppliers[sku.id]],
                photos=list(photos.values()),
                available_quantity=None if available is None else available.get(sku.id, Decimal(0)),
            )
        )
    return out


async def eligible_suppliers(
    session: AsyncSession, skus: Sequence[BrandSku], *, today: date
) -> dict[str, list[SkuSupplier]]:
    """The suppliers that may take part in a new cycle today, per SKU."""
    brands, _ = await brands_with_currency(session, {s.brand_id for s in skus})
    states = await supplier_states(session, skus, brands, today=today)
    grouped: dict[str, list[SkuSupplier]] = defaultdict(list)
    for sku_id, items in states.items():
        grouped[sku_id] = [st.supplier for st in items if st.eligible]
    return dict(grouped)

"""Building a catalogue page from rows: the SKUs of the page and everything shown with them.

Core statements, not ORM objects: a page of 50 SKUs with their tiers, suppliers and photos is
a few hundred rows, and turning each into a tracked ORM object (identity map, attribute
instrumentation, then a model built from it field by field) cost most of a built page's CPU.
Here every query answers plain rows, the page is put together as plain dicts and validated
once by the response model (``Page[SkuPublic]``), in the shape of ``brands.views.sku_publics``
(the single-SKU and brand answers); ``tests/storefront`` keeps the two equal.

Seven queries for any page size (nine with ``cycle_id``): the page, its brands, tiers,
suppliers, active licences, certifications and photos; and the cycle, and its stock of the
page's SKUs only (not of the whole cycle).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import Organization
from app.brands import pricing
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
from app.brands.schemas import SkuPublic
from app.catalog.models import Product, ProductCertification, ProductImage
from app.catalog.sheets import image_url
from app.core.pagination import Page, PageParams, encode_cursor
from app.core.text import contains_all, terms
from app.orders.exceptions import CycleNotFound
from app.orders.models import CycleSku, OrderCycle
from app.orders.stock import from_milli


def _t(model: Any) -> Any:
    return model.__table__


sku_t, brand_t, org_t, tier_t = _t(BrandSku), _t(Brand), _t(Organization), _t(SkuPriceTier)
supplier_t, licence_t, product_t = _t(SkuSupplier), _t(BrandLicense), _t(Product)
cert_t, image_t, cycle_t, stock_t = (
    _t(ProductCertification),
    _t(ProductImage),
    _t(OrderCycle),
    _t(CycleSku),
)

SKU_COLUMNS = (
    sku_t.c.id,
    sku_t.c.brand_id,
    sku_t.c.name,
    sku_t.c.category,
    sku_t.c.unit,
    sku_t.c.pack_size,
    sku_t.c.unit_weight_kg,
    sku_t.c.gtin,
    sku_t.c.producer_price_cents,
    sku_t.c.solidarity_fund_bps,
    sku_t.c.logistics_share_bps,
)
# prebuilt: a statement built per request costs as much again as running it
BRANDS = (
    sa.select(
        brand_t.c.id,
        brand_t.c.name,
        brand_t.c.network_id,
        brand_t.c.territory_provinces,
        brand_t.c.territory_cantons,
        brand_t.c.required_certifications,
        brand_t.c.allowed_categories,
        brand_t.c.sanitary_registration_required_for,
        org_t.c.currency,
    )
    .join(org_t, org_t.c.id == brand_t.c.network_id)
    .where(brand_t.c.id.in_(sa.bindparam("ids", expanding=True)))
)
TIERS = (
    sa.select(tier_t.c.sku_id, tier_t.c.min_quantity, tier_t.c.unit_price_cents)
    .where(tier_t.c.sku_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(tier_t.c.sku_id, tier_t.c.min_quantity)
)
SUPPLIERS = (
    sa.select(
        supplier_t.c.id,
        supplier_t.c.sku_id,
        supplier_t.c.product_id,
        supplier_t.c.product_version,
        supplier_t.c.association_id,
        supplier_t.c.status,
        supplier_t.c.approved_at,
        supplier_t.c.suspended_at,
        supplier_t.c.suspension_errors,
        org_t.c.name.label("association_name"),
        org_t.c.parish,
        product_t.c.name.label("product_name"),
        product_t.c.status.label("sheet_status"),
        product_t.c.category.label("sheet_category"),
        product_t.c.unit.label("sheet_unit"),
        product_t.c.origin_province,
        product_t.c.origin_canton,
        product_t.c.sanitary_number,
        product_t.c.sanitary_expires_on,
    )
    .join(org_t, org_t.c.id == supplier_t.c.association_id)
    .join(product_t, product_t.c.id == supplier_t.c.product_id)
    .where(
        supplier_t.c.sku_id.in_(sa.bindparam("ids", expanding=True)),
        supplier_t.c.status == SupplierStatus.approved,
    )
    .order_by(supplier_t.c.id)
)
LICENCES = sa.select(licence_t.c.brand_id, licence_t.c.association_id).where(
    licence_t.c.brand_id.in_(sa.bindparam("ids", expanding=True)),
    licence_t.c.status == LicenseStatus.active,
)
CERTIFICATIONS = (
    sa.select(cert_t.c.product_id, cert_t.c.kind, cert_t.c.expires_on)
    .where(cert_t.c.product_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(cert_t.c.kind, cert_t.c.id)
)
IMAGES = (
    sa.select(image_t.c.id, image_t.c.product_id)
    .where(image_t.c.product_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(image_t.c.created_at, image_t.c.id)
)
CYCLE = sa.select(cycle_t.c.id).where(cycle_t.c.id == sa.bindparam("cycle_id"))
STOCK = sa.select(stock_t.c.sku_id, stock_t.c.offered_milli, stock_t.c.reserved_milli).where(
    stock_t.c.cycle_id == sa.bindparam("cycle_id"),
    stock_t.c.sku_id.in_(sa.bindparam("ids", expanding=True)),
)
PUBLIC_BRANDS = (
    sa.select(brand_t.c.id)
    .join(org_t, org_t.c.id == brand_t.c.network_id)
    .where(org_t.c.public_catalogue)
)

PAGE = TypeAdapter(Page[SkuPublic])


def _page_query(
    *,
    public_only: bool,
    brand_id: str | None,
    category: str | None,
    q: str | None,
    page: PageParams,
) -> sa.Select[Any]:
    stmt = sa.select(*SKU_COLUMNS)
    if public_only:
        stmt = stmt.where(sku_t.c.brand_id.in_(PUBLIC_BRANDS))
    if brand_id is not None:
        stmt = stmt.where(sku_t.c.brand_id == brand_id)
    if category is not None:
        stmt = stmt.where(sku_t.c.category == category)
    if q:
        stmt = stmt.where(contains_all(sku_t.c.search_text, terms(q)))
    after = page.after()
    if after is not None:
        stmt = stmt.where(sku_t.c.id > after)
    return stmt.order_by(sku_t.c.id).limit(page.limit + 1)


async def sku_page(
    session: AsyncSession,
    *,
    today: date,
    public_only: bool,
    brand_id: str | None,
    category: str | None,
    q: str | None,
    cycle_id: str | None,
    page: PageParams,
) -> bytes:
    """The page as JSON bytes; with ``cycle_id``, priced at the cycle's volumes and with what
    is still available in it."""
    if (
        cycle_id is not None
        and (await session.execute(CYCLE, {"cycle_id": cycle_id})).first() is None
    ):
        raise CycleNotFound()
    query = _page_query(
        public_only=public_only, brand_id=brand_id, category=category, q=q, page=page
    )
    rows = (await session.execute(query)).all()
    cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        cursor = encode_cursor(rows[-1].id)
    if not rows:
        return PAGE.dump_json(Page[SkuPublic](items=[], next_cursor=cursor))
    ids = [r.id for r in rows]
    brand_ids = list({r.brand_id for r in rows})
    run = session.execute
    brands = {b.id: b for b in await run(BRANDS, {"ids": brand_ids})}
    tiers: dict[str, list[pricing.Tier]] = defaultdict(list)
    for t in await run(TIERS, {"ids": ids}):
        tiers[t.sku_id].append(pricing.Tier(t.min_quantity, t.unit_price_cents))
    supplied = (await run(SUPPLIERS, {"ids": ids})).all()
    product_ids = list({s.product_id for s in supplied})
    licensed = {
        (lic.brand_id, lic.association_id) for lic in await run(LICENCES, {"ids": brand_ids})
    }
    certifications: dict[str, list[Certification]] = defaultdict(list)
    photos_of: dict[str, list[str]] = defaultdict(list)
    if product_ids:
        for c in await run(CERTIFICATIONS, {"ids": product_ids}):
            certifications[c.product_id].append(Certification(c.kind, c.expires_on))
        for image in await run(IMAGES, {"ids": product_ids}):
            photos_of[image.product_id].append(image.id)
    volumes: dict[str, Decimal] = {}
    available: dict[str, Decimal] | None = None
    if cycle_id is not None:
        available = {}
        for s in await run(STOCK, {"cycle_id": cycle_id, "ids": ids}):
            volumes[s.sku_id] = from_milli(s.reserved_milli)
            available[s.sku_id] = from_milli(s.offered_milli - s.reserved_milli)

    rules = {
        b.id: BrandRules(
            territory_provinces=b.territory_provinces,
            territory_cantons=b.territory_cantons,
            required_certifications=b.required_certifications,
            allowed_categories=b.allowed_categories,
            sanitary_registration_required_for=b.sanitary_registration_required_for,
        )
        for b in brands.values()
    }
    by_sku: dict[str, list[dict[str, Any]]] = defaultdict(list)
    photos: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    categories = {r.id: (r.brand_id, SkuFacts(category=r.category, unit=r.unit)) for r in rows}
    for s in supplied:
        sku_brand, facts = categories[s.sku_id]
        sheet = SheetFacts(
            status=s.sheet_status,
            category=s.sheet_category,
            unit=s.sheet_unit,
            origin_province=s.origin_province,
            origin_canton=s.origin_canton,
            certifications=tuple(certifications.get(s.product_id, ())),
            sanitary_number=s.sanitary_number,
            sanitary_expires_on=s.sanitary_expires_on,
        )
        failures = check_supplier(
            rules[sku_brand],
            facts,
            sheet,
            licensed=(sku_brand, s.association_id) in licensed,
            today=today,
        )
        errors = s.suspension_errors or []
        by_sku[s.sku_id].append(
            {
                "id": s.id,
                "sku_id": s.sku_id,
                "product_id": s.product_id,
                "product_name": s.product_name,
                "product_version": s.product_version,
                "association_id": s.association_id,
                "association_name": s.association_name,
                "parish": s.parish,
                "status": s.status,
                "eligible": s.status == SupplierStatus.approved and not failures,
                "approved_at": s.approved_at,
                "suspended_at": s.suspended_at,
                "reason": "; ".join(e["detail"] for e in errors) or None,
                "errors": errors,
            }
        )
        for image_id in photos_of.get(s.product_id, ()):
            photos[s.sku_id].setdefault(
                image_id, {"product_id": s.product_id, "url": image_url(s.product_id, image_id)}
            )

    items = []
    for r in rows:
        brand = brands[r.brand_id]
        tier = pricing.tier_for(tiers[r.id], volumes.get(r.id, Decimal(0)))
        parts = pricing.breakdown(
            tier.unit_price_cents,
            producer_price_cents=r.producer_price_cents,
            solidarity_fund_bps=r.solidarity_fund_bps,
            logistics_share_bps=r.logistics_share_bps,
        )
        items.append(
            {
                "id": r.id,
                "brand_id": r.brand_id,
                "brand_name": brand.name,
                "network_id": brand.network_id,
                "currency": brand.currency or "USD",
                "name": r.name,
                "category": r.category,
                "unit": r.unit,
                "pack_size": r.pack_size,
                "unit_weight_kg": r.unit_weight_kg,
                "gtin": r.gtin,
                "producer_price_cents": r.producer_price_cents,
                "solidarity_fund_bps": r.solidarity_fund_bps,
                "logistics_share_bps": r.logistics_share_bps,
                "tiers": [
                    {"min_quantity": t.min_quantity, "unit_price_cents": t.unit_price_cents}
                    for t in tiers[r.id]
                ],
                "current_unit_price_cents": tier.unit_price_cents,
                "price_breakdown": {
                    "unit_price_cents": parts.unit_price_cents,
                    "producer_cents": parts.producer_cents,
                    "logistics_cents": parts.logistics_cents,
                    "network_cents": parts.network_cents,
                    "solidarity_fund_cents": parts.solidarity_fund_cents,
                    "tier_min_quantity": tier.min_quantity,
                },
                "suppliers": by_sku.get(r.id, []),
                "photos": list(photos.get(r.id, {}).values()),
                "available_quantity": None
                if available is None
                else available.get(r.id, Decimal("0.000")),
            }
        )
    return PAGE.dump_json(PAGE.validate_python({"items": items, "next_cursor": cursor}))

"""The floor of ``GET /api/v1/skus``: the least a FastAPI app must do to answer Minga's
catalogue pages from Minga's schema, so that ``bench/catalog.py`` can put Minga's CPU per page
next to it.

Per request:

- authenticated: the bearer token checked (PyJWT) and the caller read in one prebuilt Core
  query (the user active, its memberships), outside any transaction, as Minga must (a removed
  membership stops granting at once); anonymous: nothing;
- a page without ``cycle_id``: its bytes from a dict, built once (no stamp, no expiry: the
  floor of a cache is a dict lookup);
- a page with ``cycle_id`` (availability and the cycle's prices, built every time): five
  prebuilt Core queries in one read transaction (SKUs with their brands, tiers, suppliers with
  their sheets and licences, certifications and photos in one, the cycle's stock of the page),
  the page put together as dicts and validated once through Minga's response model
  (``Page[SkuPublic]``), eligibility by Minga's own rule check.

What Minga does besides (middleware, problem documents, languages, the page cache's stamp,
ETag and 304s, dependencies, filters) is not here: the ratio says what those cost.
``bench/catalog.py`` checks that both answer the same JSON.

Mounted by ``bench/floor.py``; configured by ``MINGA_DATABASE_URL`` and ``MINGA_SECRET_KEY``.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import jwt
import sqlalchemy as sa
from fastapi import FastAPI, Header, HTTPException, Query
from fastapi.responses import Response
from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.accounts.models import Membership, Organization, User
from app.brands import pricing
from app.brands.models import Brand, BrandLicense, BrandSku, SkuPriceTier, SkuSupplier
from app.brands.rules import BrandRules, Certification, SheetFacts, SkuFacts, check_supplier
from app.brands.schemas import SkuPublic
from app.catalog.models import Product, ProductCertification, ProductImage
from app.core.pagination import Page
from app.orders.models import CycleSku


def _t(model: Any) -> Any:
    return model.__table__


users, members, orgs, skus, brands = (
    _t(User),
    _t(Membership),
    _t(Organization),
    _t(BrandSku),
    _t(Brand),
)
tiers, suppliers, licences, products = (
    _t(SkuPriceTier),
    _t(SkuSupplier),
    _t(BrandLicense),
    _t(Product),
)
certs, images, stock = _t(ProductCertification), _t(ProductImage), _t(CycleSku)
network = orgs.alias("network")
association = orgs.alias("association")
IDS = sa.bindparam("ids", expanding=True)

PRINCIPAL = (
    sa.select(users.c.is_active, members.c.organization_id, members.c.role)
    .outerjoin(members, members.c.user_id == users.c.id)
    .where(users.c.id == sa.bindparam("user_id"))
)
SKUS = (
    sa.select(
        skus.c.id,
        skus.c.brand_id,
        skus.c.name,
        skus.c.category,
        skus.c.unit,
        skus.c.pack_size,
        skus.c.unit_weight_kg,
        skus.c.gtin,
        skus.c.producer_price_cents,
        skus.c.solidarity_fund_bps,
        skus.c.logistics_share_bps,
        brands.c.name.label("brand_name"),
        brands.c.network_id,
        network.c.currency,
        brands.c.territory_provinces,
        brands.c.territory_cantons,
        brands.c.required_certifications,
        brands.c.allowed_categories,
        brands.c.sanitary_registration_required_for,
    )
    .join(brands, brands.c.id == skus.c.brand_id)
    .join(network, network.c.id == brands.c.network_id)
    .where(skus.c.id > sa.bindparam("after"))
    .order_by(skus.c.id)
    .limit(sa.bindparam("n"))
)
TIERS = (
    sa.select(tiers.c.sku_id, tiers.c.min_quantity, tiers.c.unit_price_cents)
    .where(tiers.c.sku_id.in_(IDS))
    .order_by(tiers.c.sku_id, tiers.c.min_quantity)
)
SUPPLIERS = (
    sa.select(
        suppliers,
        association.c.name.label("association_name"),
        association.c.parish,
        products.c.name.label("product_name"),
        products.c.status.label("sheet_status"),
        products.c.category.label("sheet_category"),
        products.c.unit.label("sheet_unit"),
        products.c.origin_province,
        products.c.origin_canton,
        products.c.sanitary_number,
        products.c.sanitary_expires_on,
        licences.c.id.label("licence_id"),
    )
    .join(association, association.c.id == suppliers.c.association_id)
    .join(products, products.c.id == suppliers.c.product_id)
    .join(skus, skus.c.id == suppliers.c.sku_id)
    .outerjoin(
        licences,
        (licences.c.brand_id == skus.c.brand_id)
        & (licences.c.association_id == suppliers.c.association_id)
        & (licences.c.status == "active"),
    )
    .where(suppliers.c.sku_id.in_(IDS), suppliers.c.status == "approved")
    .order_by(suppliers.c.id)
)
# certifications and photos of the sheets in one query: (product, kind, expires, image)
PAPERS = sa.union_all(
    sa.select(
        certs.c.product_id,
        certs.c.kind,
        certs.c.expires_on,
        sa.null().label("image_id"),
        certs.c.id.label("k1"),
        sa.null().label("k2"),
    ).where(certs.c.product_id.in_(IDS)),
    sa.select(
        images.c.product_id,
        sa.null(),
        sa.null(),
        images.c.id,
        sa.cast(images.c.created_at, sa.String),
        images.c.id,
    ).where(images.c.product_id.in_(sa.bindparam("pids", expanding=True))),
)
SKUS_PUBLIC = SKUS.where(network.c.public_catalogue)
STOCK = sa.select(stock.c.sku_id, stock.c.offered_milli, stock.c.reserved_milli).where(
    stock.c.cycle_id == sa.bindparam("cycle_id"), stock.c.sku_id.in_(IDS)
)
PAGE = TypeAdapter(Page[SkuPublic])
MILLI = Decimal(1000)
THREE = Decimal("0.001")


def _engine() -> AsyncEngine:
    return create_async_engine(
        os.environ["MINGA_DATABASE_URL"], pool_size=10, max_overflow=10, pool_recycle=300
    )


def _cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _after(cursor: str | None) -> str:
    if not cursor:
        return ""
    return base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()


def _milli(value: int) -> Decimal:
    return (Decimal(value) / MILLI).quantize(THREE)


async def build(
    engine: AsyncEngine, limit: int, cursor: str | None, cycle_id: str | None, *, public: bool
) -> bytes:
    today = datetime.now(UTC).date()
    async with engine.connect() as conn:
        page = SKUS_PUBLIC if public else SKUS
        rows = (await conn.execute(page, {"after": _after(cursor), "n": limit + 1})).all()
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = _cursor(rows[-1].id)
        ids = [r.id for r in rows]
        tiered: dict[str, list[pricing.Tier]] = defaultdict(list)
        for t in await conn.execute(TIERS, {"ids": ids}):
            tiered[t.sku_id].append(pricing.Tier(t.min_quantity, t.unit_price_cents))
        supplied = (await conn.execute(SUPPLIERS, {"ids": ids})).all()
        pids = list({s.product_id for s in supplied})
        papers: dict[str, list[Certification]] = defaultdict(list)
        photos_of: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for p in await conn.execute(PAPERS, {"ids": pids, "pids": pids}):
            if p.image_id is None:
                papers[p.product_id].append((p.k1, Certification(p.kind, p.expires_on)))
            else:
                photos_of[p.product_id].append((p.k1, p.image_id))
        stocked = {}
        if cycle_id is not None:
            stocked = {
                s.sku_id: s for s in await conn.execute(STOCK, {"cycle_id": cycle_id, "ids": ids})
            }
    by_id = {r.id: r for r in rows}
    listed: dict[str, list[dict[str, Any]]] = defaultdict(list)
    photos: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)
    for s in supplied:
        r = by_id[s.sku_id]
        rules = BrandRules(
            r.territory_provinces,
            r.territory_cantons,
            r.required_certifications,
            r.allowed_categories,
            r.sanitary_registration_required_for,
        )
        held = sorted(papers.get(s.product_id, []), key=lambda kc: (kc[1].kind, kc[0]))
        sheet = SheetFacts(
            s.sheet_status,
            s.sheet_category,
            s.sheet_unit,
            s.origin_province,
            s.origin_canton,
            tuple(c for _, c in held),
            s.sanitary_number,
            s.sanitary_expires_on,
        )
        failed = check_supplier(
            rules,
            SkuFacts(r.category, r.unit),
            sheet,
            licensed=s.licence_id is not None,
            today=today,
        )
        errors = s.suspension_errors or []
        listed[s.sku_id].append(
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
                "eligible": not failed,
                "approved_at": s.approved_at,
                "suspended_at": s.suspended_at,
                "reason": "; ".join(e["detail"] for e in errors) or None,
                "errors": errors,
            }
        )
        for _, image_id in sorted(photos_of.get(s.product_id, [])):
            photos[s.sku_id].setdefault(
                image_id,
                {
                    "product_id": s.product_id,
                    "url": f"/api/v1/products/{s.product_id}/images/{image_id}",
                },
            )
    items = []
    for r in rows:
        held_stock = stocked.get(r.id)
        volume = _milli(held_stock.reserved_milli) if held_stock is not None else Decimal(0)
        tier = pricing.tier_for(tiered[r.id], volume)
        parts = pricing.breakdown(
            tier.unit_price_cents,
            producer_price_cents=r.producer_price_cents,
            solidarity_fund_bps=r.solidarity_fund_bps,
            logistics_share_bps=r.logistics_share_bps,
        )
        available = None
        if cycle_id is not None:
            available = (
                _milli(held_stock.offered_milli - held_stock.reserved_milli)
                if held_stock is not None
                else Decimal(0)
            )
        items.append(
            {
                "id": r.id,
                "brand_id": r.brand_id,
                "brand_name": r.brand_name,
                "network_id": r.network_id,
                "currency": r.currency or "USD",
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
                    for t in tiered[r.id]
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
                "suppliers": listed.get(r.id, []),
                "photos": list(photos.get(r.id, {}).values()),
                "available_quantity": available,
            }
        )
    return PAGE.dump_json(PAGE.validate_python({"items": items, "next_cursor": next_cursor}))


def mount(app: FastAPI) -> None:
    secret = os.environ.get("MINGA_SECRET_KEY", "")
    state: dict[str, AsyncEngine] = {}
    pages: dict[tuple[bool, int, str | None], tuple[bytes, str]] = {}

    def engines() -> tuple[AsyncEngine, AsyncEngine]:
        if "engine" not in state:
            state["engine"] = _engine()
            state["reader"] = state["engine"].execution_options(isolation_level="AUTOCOMMIT")
        return state["engine"], state["reader"]

    @app.get("/api/v1/skus")
    async def list_skus(
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
        cursor: Annotated[str | None, Query(max_length=200)] = None,
        cycle_id: Annotated[str | None, Query(max_length=36)] = None,
        authorization: Annotated[str, Header()] = "",
    ) -> Response:
        engine, reader = engines()
        anonymous = not authorization
        if not anonymous:
            try:
                claims = jwt.decode(
                    authorization.removeprefix("Bearer "), secret, algorithms=["HS256"]
                )
            except jwt.PyJWTError:
                raise HTTPException(401) from None
            async with reader.connect() as conn:
                found = (await conn.execute(PRINCIPAL, {"user_id": claims["sub"]})).all()
            if not found or not found[0].is_active:
                raise HTTPException(401)
        elif cycle_id is not None:
            raise HTTPException(401)
        if cycle_id is not None:
            body = await build(engine, limit, cursor, cycle_id, public=False)
            return Response(body, media_type="application/json")
        key = (anonymous, limit, cursor)
        cached = pages.get(key)
        if cached is None:
            body = await build(engine, limit, cursor, None, public=anonymous)
            etag = (
                '"'
                + base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode().rstrip("=")
                + '"'
            )
            cached = pages[key] = (body, etag)
        return Response(
            cached[0],
            media_type="application/json",
            headers={
                "ETag": cached[1],
                "Cache-Control": "public, max-age=60" if anonymous else "private, no-cache",
            },
        )

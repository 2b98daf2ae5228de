"""The rules of the catalogue. Functions take the session first and only flush.

A sheet is a working copy that its association edits (draft → published → archived).
Publishing freezes the public sheet into a ``ProductVersion``; publishing again after a
change freezes the next version, so orders can keep pointing at the one they were placed
against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, delete, or_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from stdnum import ean
from stdnum.exceptions import ValidationError

from app.accounts import audit
from app.accounts.exceptions import NotAnAssociation, OrganizationNotFound
from app.accounts.models import Organization, OrganizationKind
from app.accounts.principal import Principal
from app.catalog import search, sheets
from app.catalog.categories import existing_slugs
from app.catalog.exceptions import InvalidGtin, ProductArchived, ProductNotFound, UnknownCategory
from app.catalog.models import (
    CertificationKind,
    Product,
    ProductCertification,
    ProductStatus,
    ProductVersion,
)
from app.catalog.schemas import ProductCreate, ProductPublic, ProductUpdate
from app.core.pagination import PageParams, paginate
from app.core.quantity import quantize
from app.core.timeutil import utcnow

# Keys of the public sheet that change without its content changing.
VOLATILE = frozenset({"status", "version", "created_at", "updated_at", "published_at"})


# --- reading sheets for other domains ------------------------------------------------------


async def get_products(session: AsyncSession, ids: Sequence[str]) -> dict[str, Product]:
    """The sheets with these ids that exist, by id (one query; no visibility check)."""
    if not ids:
        return {}
    rows = await session.scalars(select(Product).where(col(Product.id).in_(set(ids))))
    return {p.id: p for p in rows}


async def certifications_of(
    session: AsyncSession, product_ids: Iterable[str]
) -> dict[str, list[ProductCertification]]:
    """The certifications of each sheet, by product id (one query)."""
    ids = set(product_ids)
    out: dict[str, list[ProductCertification]] = {pid: [] for pid in ids}
    if not ids:
        return out
    rows = await session.scalars(
        select(ProductCertification)
        .where(col(ProductCertification.product_id).in_(ids))
        .order_by(col(ProductCertification.kind), col(ProductCertification.id))
    )
    for row in rows:
        out[row.product_id].append(row)
    return out


async def public_sheets(session: AsyncSession, products: Sequence[Product]) -> list[ProductPublic]:
    """Public sheets of a page of products in three queries, whatever the page size."""
    if not products:
        return []
    ids = [p.id for p in products]
    certifications = await certifications_of(session, ids)
    images = await sheets.images_of(session, ids)
    names = await sheets.association_names(session, {p.association_id for p in products})
    return [
        sheets.public_sheet(p, names[p.association_id], certifications[p.id], images[p.id])
        for p in products
    ]


# --- who may see and change what -----------------------------------------------------------


def visible_to(principal: Principal) -> ColumnElement[bool]:
    """Published sheets for everyone; drafts and archived ones for their association."""
    if principal.is_platform_admin:
        return true()
    return or_(
        col(Product.status) == ProductStatus.published,
        col(Product.association_id).in_(list(principal.roles)),
    )


async def owned_product(
    session: AsyncSession, principal: Principal, product_id: str, *, writable: bool = True
) -> Product:
    """The sheet, locked for the change, if the caller belongs to its association.

    Other associations get the same 404 as for a sheet that does not exist.
    """
    product = await session.scalar(
        select(Product).where(Product.id == product_id).with_for_update()
    )
    if product is None:
        raise ProductNotFound()
    principal.require_member(product.association_id, not_found=ProductNotFound)
    if writable and product.status == ProductStatus.archived:
        raise ProductArchived("An archived sheet cannot change; create a new one")
    return product


async def association_for_write(
    session: AsyncSession, principal: Principal, association_id: str
) -> Organization:
    principal.require_member(association_id)
    org = await session.get(Organization, association_id)
    if org is None:
        raise OrganizationNotFound()
    if org.kind != OrganizationKind.association:
        raise NotAnAssociation(
            "Only associations publish product sheets",
            errors=[{"field": "association_id", "detail": "not an association"}],
        )
    return org


# --- checking and applying what clients write ----------------------------------------------


def normalize_gtin(value: str) -> str:
    """The compact GTIN (8, 12, 13 or 14 digits) with a correct check digit, or ValueError."""
    try:
        return str(ean.validate(value))
    except ValidationError as exc:
        raise ValueError(f"not a valid GTIN: {exc}") from None


def _gtin(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize_gtin(value)
    except ValueError as exc:
        raise InvalidGtin(str(exc), errors=[{"field": "gtin", "detail": str(exc)}]) from None


async def _check_category(session: AsyncSession, slug: str | None) -> None:
    if slug is not None and slug not in await existing_slugs(session, [slug]):
        detail = f"unknown category {slug!r}; see GET /api/v1/categories"
        raise UnknownCategory(detail, errors=[{"field": "category", "detail": detail}])


def columns_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """Sheet fields as the API writes them (nested origin, sanitary object) → table columns."""
    out = {k: v for k, v in values.items() if k not in {"origin", "sanitary_registration"}}
    out.pop("certifications", None)
    out.pop("association_id", None)
    if out.get("pack_size") is not None:
        out["pack_size"] = quantize(out["pack_size"])
    if "origin" in values:
        origin = values["origin"]
        out.update({f"origin_{k}": v for k, v in origin.items()})
        out["origin_parish_key"] = search.parish_key(origin["parish"])
    if "sanitary_registration" in values:
        reg = values["sanitary_registration"] or {}
        out["sanitary_authority"] = reg.get("authority")
        out["sanitary_number"] = reg.get("number")
        out["sanitary_expires_on"] = reg.get("expires_on")
    return out


def _certification_rows(product_id: str, items: Sequence[Mapping[str, Any]]) -> list[Any]:
    return [
        ProductCertification(
            product_id=product_id, kind=c["kind"], number=c["number"], expires_on=c["expires_on"]
        )
        for c in items
    ]


def _audit_values(product: Product, certifications: Sequence[Any]) -> dict[str, Any]:
    """The sheet's editable content, for audit diffs."""
    values = {
        c.key: getattr(product, c.key)
        for c in Product.__table__.columns  # type: ignore[attr-defined]
        if c.key not in {"search_text", "origin_parish_key", "created_at", "updated_at"}
    }
    values["certifications"] = sorted(
        [{"kind": c.kind, "number": c.number, "expires_on": c.expires_on} for c in certifications],
        key=lambda c: (c["kind"], c["number"] or ""),
    )
    return values


def new_sheet(
    association: Organization, data: ProductCreate, gtin: str | None
) -> tuple[Product, list[Any]]:
    """A new draft and its certification rows, from checked input (used by the importer)."""
    values = columns_of(data.model_dump())
    values["gtin"] = gtin
    product = Product(association_id=association.id, **values)
    product.search_text = search.sheet_text(product, association.name)
    rows = _certification_rows(product.id, data.model_dump()["certifications"])
    return product, rows


# --- the lifecycle -------------------------------------------------------------------------


async def create_product(
    session: AsyncSession, principal: Principal, data: ProductCreate
) -> ProductPublic:
    association = await association_for_write(session, principal, data.association_id)
    await _check_category(session, data.category)
    product, certifications = new_sheet(association, data, _gtin(data.gtin))
    session.add(product)
    await session.flush()
    session.add_all(certifications)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="product.create",
        object_type="product",
        object_id=product.id,
        organization_id=product.association_id,
        changes=audit.diff(None, _audit_values(product, certifications)),
    )
    return (await public_sheets(session, [product]))[0]


async def update_product(
    session: AsyncSession, principal: Principal, product_id: str, data: ProductUpdate
) -> ProductPublic:
    product = await owned_product(session, principal, product_id)
    # The fields the client sent, each whole: ``exclude_unset`` would also drop the defaults
    # of nested objects (a certification without a number), which the rows need.
    given = {k: v for k, v in data.model_dump().items() if k in data.model_fields_set}
    await _check_category(session, given.get("category"))
    if "gtin" in given:
        given["gtin"] = _gtin(data.gtin)
    current = (await certifications_of(session, [product.id]))[product.id]
    before = _audit_values(product, current)

    for name, value in columns_of(given).items():
        setattr(product, name, value)
    if "certifications" in given:
        await session.execute(
            delete(ProductCertification).where(col(ProductCertification.product_id) == product.id)
        )
        current = _certification_rows(product.id, given["certifications"])
        session.add_all(current)
    changes = audit.diff(before, _audit_values(product, current))
    if changes:
        association_name = await session.scalar(
            select(Organization.name).where(Organization.id == product.association_id)
        )
        product.search_text = search.sheet_text(product, association_name or "")
        product.updated_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            principal,
            action="product.update",
            object_type="product",
            object_id=product.id,
            organization_id=product.association_id,
            changes=changes,
        )
    return (await public_sheets(session, [product]))[0]


def _content(sheet: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sheet.items() if k not in VOLATILE}


async def publish_product(
    session: AsyncSession, principal: Principal, product_id: str
) -> ProductPublic:
    """Publish the working copy: a new version if it changed since the last one, else nothing."""
    product = await owned_product(session, principal, product_id)
    sheet = (await public_sheets(session, [product]))[0]
    last = await session.scalar(
        select(ProductVersion)
        .where(ProductVersion.product_id == product.id)
        .order_by(col(ProductVersion.version).desc())
        .limit(1)
    )
    if last is not None and _content(last.snapshot) == _content(sheet.model_dump(mode="json")):
        return sheet  # published already, and nothing changed since

    before = {"status": product.status, "version": product.version}
    now = utcnow()
    product.status = ProductStatus.published
    product.version = 1 if last is None else last.version + 1
    product.published_at = now
    product.updated_at = now
    sheet = sheet.model_copy(
        update={
            "status": ProductStatus.published,
            "version": product.version,
            "published_at": now,
            "updated_at": now,
        }
    )
    session.add(
        ProductVersion(
            product_id=product.id,
            version=product.version,
            snapshot=sheet.model_dump(mode="json"),
            published_at=now,
        )
    )
    await session.flush()
    await audit.record(
        session,
        principal,
        action="product.publish",
        object_type="product",
        object_id=product.id,
        organization_id=product.association_id,
        changes=audit.diff(before, {"status": product.status, "version": product.version}),
    )
    return sheet


async def archive_product(
    session: AsyncSession, principal: Principal, product_id: str
) -> ProductPublic:
    product = await owned_product(session, principal, product_id, writable=False)
    if product.status != ProductStatus.archived:
        before = product.status
        product.status = ProductStatus.archived
        product.updated_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            principal,
            action="product.archive",
            object_type="product",
            object_id=product.id,
            organization_id=product.association_id,
            changes=audit.diff({"status": before}, {"status": product.status}),
        )
    return (await public_sheets(session, [product]))[0]


# --- reading -------------------------------------------------------------------------------


async def list_products(
    session: AsyncSession,
    principal: Principal,
    *,
    association_id: str | None = None,
    category: str | None = None,
    certification: CertificationKind | None = None,
    q: str | None = None,
    status: ProductStatus | None = None,
    parish: str | None = None,
    page: PageParams,
) -> tuple[list[ProductPublic], str | None]:
    stmt = select(Product).where(visible_to(principal))
    if association_id is not None:
        stmt = stmt.where(Product.association_id == association_id)
    if category is not None:
        stmt = stmt.where(Product.category == category)
    if status is not None:
        stmt = stmt.where(Product.status == status)
    if parish is not None:
        stmt = stmt.where(Product.origin_parish_key == search.parish_key(parish))
    if certification is not None:
        certified = select(ProductCertification.product_id).where(
            ProductCertification.kind == certification
        )
        stmt = stmt.where(col(Product.id).in_(certified))
    if q:
        stmt = stmt.where(search.matches(q))
    rows, cursor = await paginate(session, stmt, key=col(Product.id), params=page)
    return await public_sheets(session, rows), cursor


async def visible_product(session: AsyncSession, principal: Principal, product_id: str) -> Product:
    product = await session.scalar(
        select(Product).where(Product.id == product_id, visible_to(principal))
    )
    if product is None:
        raise ProductNotFound()
    return product


async def get_product(
    session: AsyncSession, principal: Principal, product_id: str
) -> ProductPublic:
    product = await visible_product(session, principal, product_id)
    return (await public_sheets(session, [product]))[0]

"""The lifecycle of a sheet: written as a draft, changed, published, archived.

Functions take the session first and only flush. Before its first publication a sheet
changes in place. Once published, its row is the public face that buyers, brand listings,
filters and search read; later changes wait in the sheet's draft (see ``drafts``) until it
is published again, which applies them and freezes the next ``ProductVersion``, so orders
keep pointing at the version they were placed against.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.models import Organization
from app.accounts.principal import Principal
from app.catalog import drafts, search
from app.catalog.categories import existing_slugs
from app.catalog.exceptions import InvalidGtin, UnknownCategory
from app.catalog.models import Product, ProductCertification, ProductStatus, ProductVersion
from app.catalog.schemas import DRAFT_FIELDS, ProductCreate, ProductPublic, ProductUpdate
from app.catalog.service import (
    association_for_write,
    certification_rows,
    certifications_of,
    columns_of,
    new_sheet,
    normalize_gtin,
    owned_product,
    public_sheets,
)
from app.core.timeutil import utcnow

# Keys of the public sheet that change without its content changing.
VOLATILE = (
    frozenset({"status", "version", "created_at", "updated_at", "published_at"}) | DRAFT_FIELDS
)


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


_NOT_AUDITED = frozenset(
    {
        "search_text",
        "origin_parish_key",
        "created_at",
        "updated_at",
        "published_at",
        "draft",
        "draft_updated_at",
    }
)


def _audit_values(product: Product, certifications: Sequence[Any]) -> dict[str, Any]:
    """The sheet's editable content, for audit diffs."""
    values = {
        c.key: getattr(product, c.key)
        for c in Product.__table__.columns  # type: ignore[attr-defined]
        if c.key not in _NOT_AUDITED
    }
    values["certifications"] = sorted(
        [{"kind": c.kind, "number": c.number, "expires_on": c.expires_on} for c in certifications],
        key=lambda c: (c["kind"], c["number"] or ""),
    )
    return values


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


async def _apply(
    session: AsyncSession, product: Product, given: Mapping[str, Any], current: Sequence[Any]
) -> Sequence[Any]:
    """Write checked sheet fields onto the row; the certification rows it has afterwards."""
    for name, value in columns_of(given).items():
        setattr(product, name, value)
    if "certifications" in given:
        await session.execute(
            delete(ProductCertification).where(col(ProductCertification.product_id) == product.id)
        )
        current = certification_rows(product.id, given["certifications"])
        session.add_all(current)
    return current


async def _refresh_search_text(session: AsyncSession, product: Product) -> None:
    association_name = await session.scalar(
        select(Organization.name).where(Organization.id == product.association_id)
    )
    product.search_text = search.sheet_text(product, association_name or "")


async def update_product(
    session: AsyncSession, principal: Principal, product_id: str, data: ProductUpdate
) -> ProductPublic:
    """Change a sheet: in place before its first publication, in its draft after it."""
    product = await owned_product(session, principal, product_id)
    # The fields the client sent, each whole: ``exclude_unset`` would also drop the defaults
    # of nested objects (a certification without a number), which the rows need.
    given = {k: v for k, v in data.model_dump().items() if k in data.model_fields_set}
    await _check_category(session, given.get("category"))
    if "gtin" in given:
        given["gtin"] = _gtin(data.gtin)
    if product.status == ProductStatus.published:
        sent = data.model_dump(mode="json", include=set(given))
        if "gtin" in given:
            sent["gtin"] = given["gtin"]
        return await _update_draft(session, principal, product, sent)

    current: Sequence[Any] = (await certifications_of(session, [product.id]))[product.id]
    before = _audit_values(product, current)
    current = await _apply(session, product, given, current)
    changes = audit.diff(before, _audit_values(product, current))
    if changes:
        await _refresh_search_text(session, product)
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
    return (await public_sheets(session, [product], viewer=principal))[0]


async def _update_draft(
    session: AsyncSession, principal: Principal, product: Product, sent: Mapping[str, Any]
) -> ProductPublic:
    """Keep the change of a published sheet in its draft: the row, which everyone else
    reads, stays as published."""
    published = (await public_sheets(session, [product]))[0]
    draft = drafts.merge(published, product.draft, sent)
    changes = audit.diff(
        drafts.content(drafts.working_sheet(published, product.draft)),
        drafts.content(drafts.working_sheet(published, draft)),
    )
    if changes:
        product.draft = draft
        product.draft_updated_at = utcnow() if draft else None
        await session.flush()
        await audit.record(
            session,
            principal,
            action="product.draft",
            object_type="product",
            object_id=product.id,
            organization_id=product.association_id,
            changes=changes,
        )
    return (await public_sheets(session, [product], viewer=principal))[0]


def _content(sheet: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in sheet.items() if k not in VOLATILE}


async def publish_product(
    session: AsyncSession, principal: Principal, product_id: str
) -> ProductPublic:
    """Publish the working copy (the row, with its draft applied): a new version if it changed
    since the last one, else nothing."""
    product = await owned_product(session, principal, product_id)
    current: Sequence[Any] = (await certifications_of(session, [product.id]))[product.id]
    before = _audit_values(product, current)
    if product.draft:
        current = await _apply(session, product, drafts.fields_of(product.draft), current)
        await _refresh_search_text(session, product)
        product.draft = None
        product.draft_updated_at = None
        await session.flush()
    sheet = (await public_sheets(session, [product]))[0]
    last = await session.scalar(
        select(ProductVersion)
        .where(ProductVersion.product_id == product.id)
        .order_by(col(ProductVersion.version).desc())
        .limit(1)
    )
    if last is not None and _content(last.snapshot) == _content(sheet.model_dump(mode="json")):
        return sheet  # published already, and nothing changed since

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
            snapshot=sheet.model_dump(mode="json", exclude=set(DRAFT_FIELDS)),
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
        changes=audit.diff(before, _audit_values(product, current)),
    )
    return sheet


async def archive_product(
    session: AsyncSession, principal: Principal, product_id: str
) -> ProductPublic:
    product = await owned_product(session, principal, product_id, writable=False)
    if product.status != ProductStatus.archived:
        # An archived sheet never changes again: its unpublished changes go with it.
        before = {"status": product.status, "draft": product.draft}
        product.status = ProductStatus.archived
        product.draft = None
        product.draft_updated_at = None
        product.updated_at = utcnow()
        await session.flush()
        await audit.record(
            session,
            principal,
            action="product.archive",
            object_type="product",
            object_id=product.id,
            organization_id=product.association_id,
            changes=audit.diff(before, {"status": product.status, "draft": None}),
        )
    return (await public_sheets(session, [product]))[0]

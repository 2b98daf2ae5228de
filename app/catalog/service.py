"""Reading sheets, who may see and change them, and checking what clients write.

Functions take the session first and only flush; the writes of a sheet's lifecycle are in
``lifecycle``. Everyone reads a sheet's published face; its association also reads the
changes it has not published yet (see ``drafts``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, or_, true
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select
from stdnum import ean
from stdnum.exceptions import ValidationError

from app.accounts.exceptions import InsufficientRole, NotAnAssociation, OrganizationNotFound
from app.accounts.models import Organization, OrganizationKind
from app.accounts.principal import Principal
from app.catalog import drafts, search, sheets
from app.catalog.exceptions import ProductArchived, ProductNotFound, ProductNotPublished
from app.catalog.models import CertificationKind, Product, ProductCertification, ProductStatus
from app.catalog.schemas import ProductCreate, ProductPublic, SheetView
from app.core.pagination import PageParams, paginate
from app.core.quantity import quantize

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


async def public_sheets(
    session: AsyncSession,
    products: Sequence[Product],
    *,
    viewer: Principal | None = None,
    view: SheetView = SheetView.working,
) -> list[ProductPublic]:
    """Public sheets of a page of products in three queries, whatever the page size.

    Everyone reads the published face; members of a sheet's association (and platform
    admins) as ``viewer`` also read its unpublished draft, laid over it in the working view.
    """
    if not products:
        return []
    ids = [p.id for p in products]
    certifications = await certifications_of(session, ids)
    images = await sheets.images_of(session, ids)
    names = await sheets.association_names(session, {p.association_id for p in products})
    out = []
    for p in products:
        sheet = sheets.public_sheet(p, names[p.association_id], certifications[p.id], images[p.id])
        if p.draft and viewer is not None and viewer.is_member(p.association_id):
            sheet = drafts.as_seen_by_owner(
                sheet, p.draft, p.draft_updated_at, working=view is SheetView.working
            )
        out.append(sheet)
    return out


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


async def require_association_staff(session: AsyncSession, principal: Principal) -> None:
    """Staff of some association (or a platform admin): who writes product sheets (one
    query)."""
    if principal.is_platform_admin:
        return
    if principal.roles:
        found = await session.scalar(
            select(Organization.id)
            .where(
                col(Organization.id).in_(list(principal.roles)),
                Organization.kind == OrganizationKind.association,
            )
            .limit(1)
        )
        if found is not None:
            return
    raise InsufficientRole("This is for the staff of an association")


# --- checking and applying what clients write ----------------------------------------------


def normalize_gtin(value: str) -> str:
    """The compact GTIN (8, 12, 13 or 14 digits) with a correct check digit, or ValueError."""
    try:
        return str(ean.validate(value))
    except ValidationError as exc:
        raise ValueError(f"not a valid GTIN: {exc}") from None


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


def certification_rows(product_id: str, items: Sequence[Mapping[str, Any]]) -> list[Any]:
    return [
        ProductCertification(
            product_id=product_id, kind=c["kind"], number=c["number"], expires_on=c["expires_on"]
        )
        for c in items
    ]


def new_sheet(
    association: Organization, data: ProductCreate, gtin: str | None
) -> tuple[Product, list[Any]]:
    """A new draft and its certification rows, from checked input (used by the importer)."""
    values = columns_of(data.model_dump())
    values["gtin"] = gtin
    product = Product(association_id=association.id, **values)
    product.search_text = search.sheet_text(product, association.name)
    rows = certification_rows(product.id, data.model_dump()["certifications"])
    return product, rows


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
    view: SheetView = SheetView.working,
    page: PageParams,
) -> tuple[list[ProductPublic], str | None]:
    """Filters and search match the published face, the one buyers search; the sheets of
    the caller's associations are shown as ``view`` says."""
    stmt = select(Product).where(visible_to(principal))
    if view is SheetView.published:
        stmt = stmt.where(col(Product.published_at).is_not(None))
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
    return await public_sheets(session, rows, viewer=principal, view=view), cursor


async def visible_product(session: AsyncSession, principal: Principal, product_id: str) -> Product:
    product = await session.scalar(
        select(Product).where(Product.id == product_id, visible_to(principal))
    )
    if product is None:
        raise ProductNotFound()
    return product


async def get_product(
    session: AsyncSession,
    principal: Principal,
    product_id: str,
    view: SheetView = SheetView.working,
) -> ProductPublic:
    product = await visible_product(session, principal, product_id)
    if view is SheetView.published and product.published_at is None:
        raise ProductNotPublished()
    return (await public_sheets(session, [product], viewer=principal, view=view))[0]

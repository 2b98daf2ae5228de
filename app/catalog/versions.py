"""Published versions of sheets: frozen public sheets that orders point at."""

from __future__ import annotations

from sqlalchemy import or_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.principal import Principal
from app.catalog.exceptions import ProductNotFound, ProductVersionNotFound
from app.catalog.models import Product, ProductVersion
from app.catalog.schemas import ProductVersionPublic
from app.catalog.service import visible_to
from app.core.pagination import PageParams, encode_cursor
from app.core.problems import InvalidInput


async def _versioned_product(session: AsyncSession, principal: Principal, product_id: str) -> None:
    """Published versions stay readable after the sheet is archived (orders point at them)."""
    product = await session.scalar(
        select(Product).where(
            Product.id == product_id,
            or_(visible_to(principal), col(Product.published_at).is_not(None)),
        )
    )
    if product is None:
        raise ProductNotFound()


def _version_public(row: ProductVersion) -> ProductVersionPublic:
    return ProductVersionPublic(
        product_id=row.product_id,
        version=row.version,
        published_at=row.published_at,
        snapshot=row.snapshot,
    )


async def list_versions(
    session: AsyncSession, principal: Principal, product_id: str, page: PageParams
) -> tuple[list[ProductVersionPublic], str | None]:
    await _versioned_product(session, principal, product_id)
    stmt = select(ProductVersion).where(ProductVersion.product_id == product_id)
    after = page.after()
    if after is not None:
        if not after.isdigit():
            raise InvalidInput(
                "The cursor is not one this service gave out",
                errors=[{"field": "cursor", "detail": "malformed cursor"}],
            )
        stmt = stmt.where(col(ProductVersion.version) > int(after))
    stmt = stmt.order_by(col(ProductVersion.version)).limit(page.limit + 1)
    rows = list(await session.scalars(stmt))
    cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        cursor = encode_cursor(str(rows[-1].version))
    return [_version_public(r) for r in rows], cursor


async def get_version(
    session: AsyncSession, principal: Principal, product_id: str, version: int
) -> ProductVersionPublic:
    await _versioned_product(session, principal, product_id)
    row = await session.scalar(
        select(ProductVersion).where(
            ProductVersion.product_id == product_id, ProductVersion.version == version
        )
    )
    if row is None:
        raise ProductVersionNotFound()
    return _version_public(row)

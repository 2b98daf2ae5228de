"""Publishing a product sheet: the catalogue freezes the version, then brands check again
every SKU the sheet supplies.

The catalogue comes before brands and cannot call it, so the two steps meet here, in the
request's one transaction: a sheet is never published without its supplier links having
been checked against the version that buyers now see.
"""

from __future__ import annotations

from datetime import date

from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.principal import Principal
from app.brands import recheck
from app.brands.schemas import SupplierCheck
from app.catalog import lifecycle
from app.catalog.schemas import ProductPublic


class PublishedSheet(ProductPublic):
    """The published sheet, and what publishing it did to the SKUs it supplies."""

    supplier_checks: list[SupplierCheck] = Field(
        description="Every SKU the sheet supplies (or supplied until suspended), checked "
        "again against its brand's rules: suspended when the sheet fails one, reinstated "
        "when it passes again"
    )


async def publish_sheet(
    session: AsyncSession, principal: Principal, product_id: str, *, today: date
) -> PublishedSheet:
    sheet = await lifecycle.publish_product(session, principal, product_id)
    checks = await recheck.recheck_sheet(session, principal, product_id, today=today)
    return PublishedSheet.model_validate({**sheet.model_dump(), "supplier_checks": checks})

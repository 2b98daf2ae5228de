"""Display names for the ids of a page: one query per kind of name, whatever the page size.

Read models carry ids (clients rely on them) and, beside each, the name a person thinks in:
the SKU, the association and its parish, the buyer, the network, the centre, the product
sheet. A view collects the ids of the whole page first and asks here once per kind, so a
page of fifty orders costs the same number of queries as a page of one.

Brands is the first domain that sees organisations, product sheets and brand SKUs together,
so the lookups live here; later domains (orders, fulfilment, settlement) import them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.models import Organization
from app.brands.models import BrandSku
from app.catalog.models import Product


@dataclass(frozen=True)
class OrgName:
    name: str
    parish: str
    address: str | None = None
    phone: str | None = None
    delivery_notes: str | None = None


UNKNOWN_ORG = OrgName(name="", parish="")


def _wanted(ids: Iterable[str | None]) -> list[str]:
    return sorted({i for i in ids if i})


async def organizations(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, OrgName]:
    """Name, parish and contact of each organisation in ``ids`` (one query; none for no
    ids). The caller decides what of it to show: the contact only where the reader serves
    the organisation (a driver, the centre)."""
    wanted = _wanted(ids)
    if not wanted:
        return {}
    rows = await session.execute(
        sa.select(
            col(Organization.id),
            col(Organization.name),
            col(Organization.parish),
            col(Organization.address),
            col(Organization.phone),
            col(Organization.delivery_notes),
        ).where(col(Organization.id).in_(wanted))
    )
    return {row[0]: OrgName(*row[1:]) for row in rows}


async def skus(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, str]:
    """The name of each brand SKU in ``ids``."""
    wanted = _wanted(ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(BrandSku.id, BrandSku.name).where(col(BrandSku.id).in_(wanted))
    )
    return {row[0]: row[1] for row in rows}


async def products(session: AsyncSession, ids: Iterable[str | None]) -> dict[str, str]:
    """The public name of each product sheet in ``ids``."""
    wanted = _wanted(ids)
    if not wanted:
        return {}
    rows = await session.execute(
        select(Product.id, Product.name).where(col(Product.id).in_(wanted))
    )
    return {row[0]: row[1] for row in rows}

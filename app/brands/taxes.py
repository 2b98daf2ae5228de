"""Sales tax on invoices: a rate per network and category (IVA 0 % or 15 % in Ecuador, 0 %,
5 % or 19 % in Colombia), set by the network's admin beside its brands' rules, and read
when invoices are issued.

Named rule: a line's tax is its amount times the rate, rounded half up to the cent, once per
line; an invoice's tax is the sum of its lines' (so the totals printed add up). Prices are
before tax: the producer, logistics, network and fund parts of a price are untouched, the
tax comes on top. A credit note takes back the difference of the line's tax before and
after, like its amount.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.exceptions import NetworkNotFound
from app.accounts.models import Organization, OrganizationKind, Role
from app.accounts.principal import Principal
from app.brands.exceptions import UnknownCategory
from app.brands.models import TaxRate
from app.brands.schemas import TaxRateIn, TaxRatePublic
from app.catalog.models import Category


def line_tax(amount_cents: int, rate_bps: int) -> int:
    """The tax of one line, half up to the cent (negative amounts round away from zero)."""
    exact = Decimal(amount_cents) * rate_bps / 10_000
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


async def rates(
    session: AsyncSession, network_id: str, categories: Iterable[str] | None = None
) -> dict[str, int]:
    """The network's rates by category (categories without one are at 0 %)."""
    stmt = select(TaxRate).where(TaxRate.network_id == network_id)
    if categories is not None:
        stmt = stmt.where(col(TaxRate.category).in_(set(categories)))
    return {r.category: r.rate_bps for r in await session.scalars(stmt)}


async def _network(session: AsyncSession, principal: Principal, network_id: str) -> None:
    network = await session.get(Organization, network_id)
    if network is None or network.kind != OrganizationKind.network:
        raise NetworkNotFound()
    principal.require_member(network_id, Role.admin, not_found=NetworkNotFound)


async def list_rates(
    session: AsyncSession, principal: Principal, network_id: str
) -> list[TaxRatePublic]:
    await _network(session, principal, network_id)
    rows = await session.scalars(
        select(TaxRate).where(TaxRate.network_id == network_id).order_by(col(TaxRate.category))
    )
    return [_public(r) for r in rows]


async def set_rate(
    session: AsyncSession,
    principal: Principal,
    network_id: str,
    data: TaxRateIn,
    *,
    now: datetime,
) -> TaxRatePublic:
    """Set (or change) the rate of one category; invoices issued from now on use it."""
    await _network(session, principal, network_id)
    if await session.get(Category, data.category) is None:
        raise UnknownCategory(f"There is no category {data.category!r}")
    row = await session.get(TaxRate, (network_id, data.category), with_for_update=True)
    if row is None:
        row = TaxRate(network_id=network_id, category=data.category, rate_bps=data.rate_bps)
        session.add(row)
    row.rate_bps = data.rate_bps
    row.name = data.name
    row.updated_at = now
    row.updated_by_user_id = principal.user_id
    await session.flush()
    return _public(row)


def _public(row: TaxRate) -> TaxRatePublic:
    return TaxRatePublic(
        network_id=row.network_id,
        category=row.category,
        rate_bps=row.rate_bps,
        name=row.name,
        updated_at=row.updated_at,
    )

"""Estimated prices of a cycle's lines: the tier reached by the SKU's volume so far."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from app.brands import names, pricing
from app.brands.skus import tiers_of
from app.core.money import cents_times
from app.orders import stock
from app.orders.schemas import Availability


async def unit_prices(
    session: AsyncSession,
    cycle_id: str,
    sku_ids: Sequence[str],
    *,
    extra: Mapping[str, Decimal] | None = None,
) -> dict[str, int]:
    """Each SKU's unit price at the tier its reserved volume (plus ``extra``) reaches."""
    tiers = await tiers_of(session, sku_ids)
    reserved = await stock.stock_of(session, cycle_id, sku_ids)
    prices = {}
    for sku_id in sku_ids:
        volume = reserved[sku_id].reserved if sku_id in reserved else Decimal(0)
        volume += (extra or {}).get(sku_id, Decimal(0))
        prices[sku_id] = pricing.tier_for(tiers[sku_id], volume).unit_price_cents
    return prices


def total_cents(lines: Iterable[tuple[int, Decimal]]) -> int:
    """Sum of unit price times quantity, each line rounded half up to the cent."""
    return sum(cents_times(price, quantity) for price, quantity in lines)


async def availability(session: AsyncSession, cycle_id: str) -> list[Availability]:
    """Per SKU of the cycle: offered, reserved, available and the current tier price."""
    supply = await stock.stock_of(session, cycle_id)
    sku_ids = sorted(supply)
    prices = await unit_prices(session, cycle_id, sku_ids)
    sku_names = await names.skus(session, sku_ids)
    return [
        Availability(
            sku_id=sku_id,
            sku_name=sku_names.get(sku_id, ""),
            offered=supply[sku_id].offered,
            reserved=supply[sku_id].reserved,
            available=supply[sku_id].available,
            unit_price_cents=prices[sku_id],
        )
        for sku_id in sku_ids
    ]

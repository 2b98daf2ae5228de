"""Supply per SKU and cycle, changed only by conditional updates, in SKU order.

Each change is one ``UPDATE … WHERE`` whose condition re-reads the row under its lock, so
concurrent orders can never reserve more than was offered, on SQLite and PostgreSQL alike;
taking the rows in SKU id order means two orders never wait on each other in a cycle.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.orders.models import CycleSku

MILLI = Decimal(1000)
_table: Any = CycleSku.__table__  # type: ignore[attr-defined]


def to_milli(quantity: Decimal) -> int:
    return int(quantity * MILLI)


def from_milli(milli: int) -> Decimal:
    return (Decimal(milli) / MILLI).quantize(Decimal("0.001"))


@dataclass(frozen=True)
class Stock:
    sku_id: str
    offered: Decimal
    reserved: Decimal

    @property
    def available(self) -> Decimal:
        return self.offered - self.reserved


@dataclass(frozen=True)
class Shortage:
    sku_id: str
    wanted: Decimal
    available: Decimal


def _stock(row: CycleSku) -> Stock:
    return Stock(row.sku_id, from_milli(row.offered_milli), from_milli(row.reserved_milli))


async def stock_of(
    session: AsyncSession, cycle_id: str, sku_ids: Sequence[str] | None = None
) -> dict[str, Stock]:
    stmt = select(CycleSku).where(CycleSku.cycle_id == cycle_id)
    if sku_ids is not None:
        stmt = stmt.where(col(CycleSku.sku_id).in_(list(sku_ids)))
    return {row.sku_id: _stock(row) for row in await session.scalars(stmt)}


async def add_offered(session: AsyncSession, cycle_id: str, sku_id: str, quantity: Decimal) -> None:
    """Raise the SKU's supply (creating its row for the cycle on the first offer)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    await session.execute(
        insert(_table)
        .values(
            id=CycleSku().id, cycle_id=cycle_id, sku_id=sku_id, offered_milli=0, reserved_milli=0
        )
        .on_conflict_do_nothing(index_elements=[_table.c.cycle_id, _table.c.sku_id])
    )
    await session.execute(
        update(_table)
        .where(_table.c.cycle_id == cycle_id, _table.c.sku_id == sku_id)
        .values(offered_milli=_table.c.offered_milli + to_milli(quantity))
    )


async def remove_offered(
    session: AsyncSession, cycle_id: str, sku_id: str, quantity: Decimal
) -> bool:
    """Lower the supply, but never below what buyers have reserved; False if it would."""
    milli = to_milli(quantity)
    result = await session.execute(
        update(_table)
        .where(
            _table.c.cycle_id == cycle_id,
            _table.c.sku_id == sku_id,
            _table.c.offered_milli - milli >= _table.c.reserved_milli,
        )
        .values(offered_milli=_table.c.offered_milli - milli)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


async def reserve(
    session: AsyncSession, cycle_id: str, wanted: Mapping[str, Decimal]
) -> list[Shortage]:
    """Reserve every SKU's quantity, or report each one that is short (then the caller rolls
    the whole transaction back, so a partly reserved order never lands)."""
    short: list[Shortage] = []
    for sku_id in sorted(wanted):
        quantity = wanted[sku_id]
        if quantity <= 0:
            continue
        milli = to_milli(quantity)
        result = await session.execute(
            update(_table)
            .where(
                _table.c.cycle_id == cycle_id,
                _table.c.sku_id == sku_id,
                _table.c.offered_milli - _table.c.reserved_milli >= milli,
            )
            .values(reserved_milli=_table.c.reserved_milli + milli)
        )
        if getattr(result, "rowcount", 0) != 1:
            short.append(Shortage(sku_id, quantity, Decimal(0)))
    if short:
        stock = await stock_of(session, cycle_id, [s.sku_id for s in short])
        short = [
            Shortage(
                s.sku_id, s.wanted, stock[s.sku_id].available if s.sku_id in stock else Decimal(0)
            )
            for s in short
        ]
    return short


async def release(session: AsyncSession, cycle_id: str, amounts: Mapping[str, Decimal]) -> None:
    for sku_id in sorted(amounts):
        milli = to_milli(amounts[sku_id])
        if milli <= 0:
            continue
        await session.execute(
            update(_table)
            .where(_table.c.cycle_id == cycle_id, _table.c.sku_id == sku_id)
            .values(reserved_milli=_table.c.reserved_milli - milli)
        )

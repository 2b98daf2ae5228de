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

from sqlalchemy import BigInteger, bindparam, literal_column, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlmodel import col, select

from app.brands.models import BrandSku, SkuPriceTier
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


# --- placing an order: one prebuilt statement per SKU ---------------------------------------

_tiers: Any = SkuPriceTier.__table__  # type: ignore[attr-defined]
_skus: Any = BrandSku.__table__  # type: ignore[attr-defined]

# The tier reached by the SKU's volume once this order is in (``reserved_milli`` in RETURNING
# is the new value): the estimate at the tier the order itself helps reach. The subqueries
# name the SKU by its parameter and the updated row's column in full: SQLite renders the
# columns of RETURNING unqualified, so a correlated ``sku_id = sku_id`` would compare the
# tier's column with itself.
_of_sku: Any = bindparam("of_sku")
_new_reserved = literal_column("cycle_skus.reserved_milli", BigInteger)
_price_reached = (
    select(_tiers.c.unit_price_cents)
    .where(_tiers.c.sku_id == _of_sku, _tiers.c.min_quantity * int(MILLI) <= _new_reserved)
    .order_by(_tiers.c.min_quantity.desc())
    .limit(1)
    .scalar_subquery()
)
_sku_name = select(_skus.c.name).where(_skus.c.id == _of_sku).scalar_subquery()
_sku_pack = select(_skus.c.pack_size).where(_skus.c.id == _of_sku).scalar_subquery()
_milli = bindparam("milli", type_=BigInteger)
# Built once at import (compiled once per dialect, then from SQLAlchemy's cache). A cycle
# only holds rows of SKUs of its network (an offer checks that), so a row found is a SKU of
# the cycle's network.
RESERVE_PRICED = (
    update(_table)
    .where(
        _table.c.cycle_id == bindparam("in_cycle"),
        _table.c.sku_id == _of_sku,
        _table.c.offered_milli - _table.c.reserved_milli >= _milli,
    )
    .values(reserved_milli=_table.c.reserved_milli + _milli)
    .returning(
        _price_reached.label("unit_price_cents"),
        _sku_name.label("name"),
        _sku_pack.label("pack_size"),
    )
)


@dataclass(frozen=True, slots=True)
class Reserved:
    """What reserving one SKU answered: its price at the tier reached, name and pack."""

    unit_price_cents: int
    name: str
    pack_size: Decimal


async def reserve_priced(
    conn: AsyncConnection, cycle_id: str, wanted: Mapping[str, Decimal]
) -> tuple[dict[str, Reserved], list[str]]:
    """Reserve every SKU's quantity, one ``UPDATE … RETURNING`` each in SKU order (the lock
    order of every path), answering the reserved SKUs and those that were not (not offered
    in the cycle, or short): the caller then rolls back and explains why."""
    reserved: dict[str, Reserved] = {}
    missed: list[str] = []
    for sku_id in sorted(wanted):
        row = (
            await conn.execute(
                RESERVE_PRICED,
                {"in_cycle": cycle_id, "of_sku": sku_id, "milli": to_milli(wanted[sku_id])},
            )
        ).first()
        if row is None or row[0] is None:
            missed.append(sku_id)
        else:
            reserved[sku_id] = Reserved(row[0], row[1], row[2])
    return reserved, missed


async def shortages(
    session: AsyncSession, cycle_id: str, wanted: Mapping[str, Decimal], sku_ids: Sequence[str]
) -> list[Shortage]:
    """The shortage of each of ``sku_ids`` that could not be reserved."""
    supply = await stock_of(session, cycle_id, sku_ids)
    return [
        Shortage(s, wanted[s], supply[s].available if s in supply else Decimal(0))
        for s in sorted(sku_ids)
    ]

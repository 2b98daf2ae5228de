"""Throttling of failed logins, per account and per client address.

Counts live in the database so that every API worker sees the same ones. They are written in
their own short transaction: a failed login answers 401, which rolls the request back, yet
the failure must still count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import LoginFailure
from app.core.timeutil import UTCDateTime

_table: Any = LoginFailure.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Limit:
    key: str
    max_failures: int


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"[:300]


def address_key(address: str) -> str:
    return f"address:{address}"[:300]


async def seconds_blocked(
    session: AsyncSession, limits: Sequence[Limit], *, now: datetime, window: timedelta
) -> int:
    """0 when a login may be tried, else the seconds until the longest block ends."""
    rows = {
        row.key: row
        for row in await session.scalars(
            select(LoginFailure).where(_table.c.key.in_([lim.key for lim in limits]))
        )
    }
    wait = 0
    for lim in limits:
        row = rows.get(lim.key)
        if row is None or row.failures < lim.max_failures:
            continue
        ends = row.window_started_at + window
        if ends > now:
            wait = max(wait, int((ends - now).total_seconds()) + 1)
    return wait


async def record_failure(
    session: AsyncSession, keys: Sequence[str], *, now: datetime, window: timedelta
) -> None:
    """Count one failure for each key, starting a new window where the old one is over."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    expired = _table.c.window_started_at <= literal(now - window, UTCDateTime)
    started = literal(now, UTCDateTime)
    for key in sorted(keys):  # a fixed order: two workers never wait on each other in a cycle
        stmt = insert(_table).values(key=key, failures=1, window_started_at=now)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_table.c.key],
            set_={
                "failures": case((expired, 1), else_=_table.c.failures + 1),
                "window_started_at": case((expired, started), else_=_table.c.window_started_at),
            },
        )
        await session.execute(stmt)


async def clear(session: AsyncSession, key: str) -> None:
    await session.execute(delete(_table).where(_table.c.key == key))

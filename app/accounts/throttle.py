"""Throttling of logins: the attempt is counted before the password is checked.

Each attempt first takes a slot in three counters, atomically (one ``INSERT … ON CONFLICT
DO UPDATE … RETURNING`` each): the account from this address, the address, and the
account from anywhere. Only an attempt whose slots are all within their limits has its
password checked; so 30 wrong passwords sent at once get at most the limit checked, and
the right one sent among them does not slip through past it. A login that succeeds gives
its slots back.

The lock that an attacker can cause is per account *and* address: five wrong tries from one
address do not lock the owner out from another. The account-wide counter has a higher limit
and a short window (a slower back-off that no single address can hold for long), so someone
rotating addresses slows the account down for minutes at a time, never locks it for good.

Counts live in the database so that every API worker sees the same ones, each written in
its own short transaction (a failed login rolls its request back, yet it must count).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, delete, literal, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import LoginFailure
from app.core.timeutil import UTCDateTime

_table: Any = LoginFailure.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Limit:
    key: str
    max_attempts: int
    window: timedelta


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()}"[:300]


def address_key(address: str) -> str:
    return f"address:{address}"[:300]


def pair_key(email: str, address: str) -> str:
    return f"pair:{email.strip().lower()}|{address}"[:300]


@dataclass(frozen=True)
class Taken:
    """What counting an attempt found: ``wait`` is 0 when it may be checked, else the
    seconds until the longest block ends; ``counts`` is each counter's value with it."""

    wait: int
    counts: dict[str, int]


async def take(session: AsyncSession, limits: Sequence[Limit], *, now: datetime) -> Taken:
    """Count this attempt in every counter (the attempt stays counted even when blocked:
    it was tried)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    wait = 0
    counts: dict[str, int] = {}
    for limit in sorted(limits, key=lambda x: x.key):  # a fixed order: no lock cycles
        expired = _table.c.window_started_at <= literal(now - limit.window, UTCDateTime)
        started = literal(now, UTCDateTime)
        stmt = (
            insert(_table)
            .values(key=limit.key, failures=1, window_started_at=now)
            .on_conflict_do_update(
                index_elements=[_table.c.key],
                set_={
                    "failures": case((expired, 1), else_=_table.c.failures + 1),
                    "window_started_at": case((expired, started), else_=_table.c.window_started_at),
                },
            )
            .returning(_table.c.failures, _table.c.window_started_at)
        )
        attempts, window_started_at = (await session.execute(stmt)).one()
        counts[limit.key] = attempts
        if attempts > limit.max_attempts:
            ends = window_started_at + limit.window
            wait = max(wait, int((ends - now).total_seconds()) + 1)
    return Taken(wait, counts)


async def succeeded(
    session: AsyncSession, *, clear: Sequence[str], give_back: Sequence[str], taken: Taken
) -> None:
    """A successful login: forget the counters of ``clear``, take this attempt back from
    ``give_back`` — every row touched in the order ``take`` locks them (sorted by key), so a
    login that succeeds never deadlocks with concurrent attempts that are being counted.

    A counter of ``clear`` is forgotten only if no other attempt was counted in it after
    this one: otherwise wrong passwords sent together with the right one would find a fresh
    counter and be checked past the limit. Then this attempt is only taken back."""
    forget = set(clear)
    for key in sorted(forget | set(give_back)):
        if key in forget:
            seen = taken.counts.get(key, 0)
            gone = await session.execute(
                delete(_table).where(_table.c.key == key, _table.c.failures <= seen)
            )
            if gone.rowcount:  # type: ignore[attr-defined]
                continue
        await session.execute(
            update(_table)
            .where(_table.c.key == key, _table.c.failures > 0)
            .values(failures=_table.c.failures - 1)
        )


async def clear(session: AsyncSession, key: str) -> None:
    await session.execute(delete(_table).where(_table.c.key == key))

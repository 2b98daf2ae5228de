"""Named locks for work that spans several transactions and must not run twice at once
(a settlement: its captures, then its books), across every worker and process.

On PostgreSQL a session-level advisory lock on a connection of its own, kept in autocommit
(so no transaction stays open while the work runs and calls its providers): the lock goes
with the connection, so a process killed mid-way frees it at once and the next start takes
it. On SQLite (one process: the embedded default) a lock of the process.

``exclusive`` never waits: it answers whether this caller got the lock, and the caller
decides (a request answers 409 with ``Retry-After``; a background resume skips).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_local: dict[str, asyncio.Lock] = {}


def _key(name: str) -> int:
    """A signed 64-bit key for ``pg_try_advisory_lock`` (stable across processes)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@asynccontextmanager
async def exclusive(engine: AsyncEngine, name: str) -> AsyncIterator[bool]:
    """``async with exclusive(engine, "settle:…") as got:`` — ``got`` is False when someone
    else holds the lock; the body runs either way and must look at it."""
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            key = _key(name)
            got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
            try:
                yield got
            finally:
                if got:
                    await conn.scalar(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        return
    lock = _local.setdefault(name, asyncio.Lock())
    if lock.locked():
        yield False
        return
    async with lock:
        yield True

"""The async engine, the naming convention of constraints and the per-request session.

One transaction per request: the session dependency commits when the endpoint returns and
rolls back when it raises; services only ``flush()``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry
from sqlmodel import SQLModel

from app.core.config import Settings

# Stable constraint names keep Alembic migrations reproducible and SQLite batch mode working.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata = SQLModel.metadata
log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000


def _sqlite_on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Let SQLAlchemy, not the driver, decide when transactions begin (see _sqlite_on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    # Write transactions take the write lock up front, so that concurrent writers wait for
    # each other (busy_timeout) instead of failing with "database is locked" on upgrade.
    if conn.get_execution_options().get("sqlite_immediate"):
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.exec_driver_sql("BEGIN")


# No ``pool_pre_ping``: it costs a round trip on every checkout (three per order). Instead a
# pooled connection is replaced after this many seconds (a server's or proxy's idle timeout
# never reaches it), and a connection found dead on use makes SQLAlchemy invalidate the whole
# pool (asyncpg's disconnect errors are recognised), so after a database restart only the
# requests in flight fail, and the next ones reconnect.
POOL_RECYCLE_SECONDS = 300


def create_engine(settings: Settings) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": settings.database_echo}
    if not settings.is_sqlite:
        kwargs["pool_size"] = settings.database_pool_size
        kwargs["max_overflow"] = settings.database_pool_size
        kwargs["pool_recycle"] = POOL_RECYCLE_SECONDS
    engine = create_async_engine(settings.database_url, **kwargs)
    if settings.is_sqlite:
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
    return engine


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def transaction(
    sessionmaker: async_sessionmaker[AsyncSession], *, write: bool = True
) -> AsyncIterator[AsyncSession]:
    """Yield a session inside one transaction: commit on success, roll back on error."""
    async with sessionmaker() as session:
        if write and session.get_bind().dialect.name == "sqlite":
            await session.connection(execution_options={"sqlite_immediate": True})
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            await _run_hooks(session, "after_rollback")
            raise
        await _run_hooks(session, "after_commit")


@asynccontextmanager
async def write_connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside one write transaction, for hot paths written in prebuilt Core
    statements (no session, no unit of work): commit on success, roll back on error."""
    async with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            await conn.execution_options(sqlite_immediate=True)
        async with conn.begin():
            yield conn


Hook = Callable[[], Awaitable[None]]


def after_commit(session: AsyncSession, hook: Hook) -> None:
    """Run ``hook`` once this session's transaction has committed (emails, jobs, webhooks)."""
    session.info.setdefault("after_commit", []).append(hook)


def after_rollback(session: AsyncSession, hook: Hook) -> None:
    """Run ``hook`` if the transaction rolls back: undo what was done outside the database
    (a card authorisation made before the stock was reserved, say)."""
    session.info.setdefault("after_rollback", []).append(hook)


async def _run_hooks(session: AsyncSession, name: str) -> None:
    hooks: list[Hook] = session.info.pop(name, [])
    session.info.pop("after_commit" if name == "after_rollback" else "after_rollback", None)
    for hook in hooks:
        try:
            await hook()
        except Exception:
            log.exception("%s hook failed", name)


async def insert_rows(
    session: AsyncSession, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert many rows of ``table`` (every row with the same keys) in one statement.

    On PostgreSQL: ``INSERT … SELECT … FROM unnest(one array per column)``, one statement
    with one parameter per column, which the server plans once; executemany sends batches
    of thousands of parameters instead (about 4 times slower for the close's 10k rows).
    JSON values travel as text and are cast on the server. Elsewhere: Core executemany.
    """
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name != "postgresql":
        await session.execute(sa.insert(table), list(rows))
        return
    columns = [c for c in table.columns if c.name in rows[0]]
    arrays, selected, params = [], [], {}
    for i, column in enumerate(columns):
        values = [row[column.name] for row in rows]
        if isinstance(column.type, sa.JSON):
            values = [json.dumps(v) for v in values]
            arrays.append(f"CAST(:c{i} AS TEXT[])")
            selected.append(f"CAST(u.c{i} AS JSON)")
        else:
            arrays.append(f"CAST(:c{i} AS {column.type.compile(dialect=dialect)}[])")
            selected.append(f"u.c{i}")
        params[f"c{i}"] = values
    names = ", ".join(f"c{i}" for i in range(len(columns)))
    statement = (
        f"INSERT INTO {table.name} ({', '.join(c.name for c in columns)}) "  # noqa: S608
        f"SELECT {', '.join(selected)} FROM unnest({', '.join(arrays)}) AS u({names})"
    )
    await session.execute(sa.text(statement), params)

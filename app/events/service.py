"""Recording an event (``emit``, in the caller's transaction) and telling it (``dispatch``, a
job): the subscribers — notifications, webhooks — each write their own rows for it, once."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.config import Settings
from app.core.db import transaction
from app.core.ids import new_id
from app.core.timeutil import utcnow
from app.events.models import DomainEvent
from app.jobs import queue
from app.jobs.tasks import JobContext, periodic, task

log = logging.getLogger(__name__)

Subscriber = Callable[[AsyncSession, Settings, DomainEvent], Awaitable[None]]
# installed by app/flows/wiring.py: who hears of every event
subscribers: list[Subscriber] = []

_table = DomainEvent.__table__  # type: ignore[attr-defined]

# PostgreSQL: the event and its dispatch job in one round trip (the order path pays for it)
EMIT_ON_POSTGRESQL = text(
    "WITH e AS (INSERT INTO domain_events (id, type, key, audience, payload, created_at) "
    "VALUES (:id, :type, :key, CAST(:audience AS json), CAST(:payload AS json), :now) "
    "ON CONFLICT (type, key) DO NOTHING RETURNING id) "
    "SELECT procrastinate_defer_jobs_v1(ARRAY(SELECT ROW('default', 'events.dispatch', 0, "
    "NULL, NULL, jsonb_build_object('event_id', e.id), NULL)::procrastinate_job_to_defer_v1 "
    "FROM e))"
)

Db = AsyncSession | AsyncConnection


def _dialect(db: Db) -> str:
    bind = db.get_bind() if isinstance(db, AsyncSession) else db
    return bind.dialect.name


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()  # ISO 8601, with its T, as every answer of the API
    if isinstance(value, Enum):
        return value.value
    return str(value)  # Decimal quantities as their exact text


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value, default=_json_default))


async def emit(
    db: Db,
    type_: str,
    *,
    key: str,
    audience: Sequence[str | None],
    payload: dict[str, Any],
) -> None:
    """Record that ``type_`` happened (once per ``key``), for the organisations in
    ``audience``; it is told after the caller's transaction commits, never if it rolls back."""
    row = {
        "id": new_id(),
        "type": type_,
        "key": key,
        "audience": sorted({a for a in audience if a}),
        "payload": _plain(payload),
        "now": utcnow(),
    }
    if _dialect(db) == "postgresql":
        await db.execute(
            EMIT_ON_POSTGRESQL,
            row | {"audience": json.dumps(row["audience"]), "payload": json.dumps(row["payload"])},
        )
        return
    values = {k: v for k, v in row.items() if k != "now"} | {"created_at": row["now"]}
    inserted = await db.execute(
        sqlite_insert(_table)
        .values(values)
        .on_conflict_do_nothing(index_elements=["type", "key"])
        .returning(_table.c.id)
    )
    if inserted.scalar() is not None:
        await queue.defer(db, "events.dispatch", {"event_id": row["id"]})


@task("events.dispatch")
async def dispatch(ctx: JobContext, event_id: str) -> None:
    async with transaction(ctx.sessionmaker) as session:
        claimed = await session.execute(
            update(_table)
            .where(_table.c.id == event_id, _table.c.dispatched_at.is_(None))
            .values(dispatched_at=utcnow())
            .returning(_table.c.id)
        )
        if claimed.scalar() is None:
            return  # told already (a second job for the same event)
        event = await session.get(DomainEvent, event_id)
        assert event is not None
        for subscriber in subscribers:
            await subscriber(session, ctx.settings, event)


# an event whose dispatch job was lost (a crash of the embedded process) is told late, not never
REDISPATCH_AFTER = timedelta(minutes=2)


@periodic("events.sweep", every_seconds=60)
async def sweep(ctx: JobContext) -> None:
    async with transaction(ctx.sessionmaker) as session:
        stale = await session.scalars(
            select(_table.c.id)
            .where(
                _table.c.dispatched_at.is_(None),
                _table.c.created_at < utcnow() - REDISPATCH_AFTER,
            )
            .limit(500)
        )
        for event_id in stale:
            await queue.defer(session, "events.dispatch", {"event_id": event_id})

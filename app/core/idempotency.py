"""``Idempotency-Key`` for POSTs that move money or state, as Stripe's work: the same key
with the same body answers the first response again; with another body, 422
``idempotency_key_reused``.

The key is claimed first, in a short transaction of its own (insert or nothing, "in
progress", with the request's fingerprint and a lease). A duplicate that arrives while the
first is in progress waits a little for its answer and replays it, or gets 409
``idempotency_key_in_use`` with ``Retry-After``. The answer is stored in the same
transaction as the work it answers; if the work fails, the claim is given back so that a
retry runs it. A claim whose lease ran out (its process died) can be taken over. Keys are
kept at least 24 hours.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, UniqueConstraint, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import Column, Field, SQLModel, col, select

from app.core.db import transaction
from app.core.ids import new_id
from app.core.problems import Conflict, InvalidInput
from app.core.schemas import PlainText
from app.core.timeutil import UTCDateTime, utcnow

KEEP_FOR = timedelta(hours=24)
# how long a claim stays its request's before another may take it over (a dead process)
LEASE = timedelta(seconds=60)
# how long a duplicate waits for the first request's answer before a 409
WAIT_FOR_ANSWER_SECONDS = 2.0
POLL_SECONDS = 0.05
IN_PROGRESS, DONE = "in_progress", "done"

IdempotencyKeyHeader = Annotated[
    PlainText | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Retry safely: the same key and body return the first answer",
    ),
]


class IdempotencyKey(SQLModel, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("scope", "principal", "key"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    scope: str = Field(max_length=64)
    principal: str = Field(max_length=80)
    key: str = Field(max_length=255)
    request_hash: str = Field(max_length=64)
    state: str = Field(default=DONE, max_length=16)
    status_code: int | None = None
    response: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


_keys: Any = IdempotencyKey.__table__  # type: ignore[attr-defined]


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used with another request body"


class IdempotencyKeyInFlight(Conflict):
    code = "idempotency_key_in_use"
    title = "A request with this Idempotency-Key is still being processed; retry shortly"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"Retry-After": "1"})
        super().__init__(detail, **kwargs)


IdempotencyKeyInUse = IdempotencyKeyInFlight


def request_hash(scope: str, body: Any) -> str:
    canonical = json.dumps([scope, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Claim:
    """This request's hold on a key: complete it in the work's transaction."""

    id: str
    scope: str
    principal: str
    key: str


def _replayed(row: IdempotencyKey) -> JSONResponse:
    return JSONResponse(
        row.response,
        status_code=row.status_code or 200,
        headers={"Idempotent-Replayed": "true"},
    )


async def _insert_claim(
    session: AsyncSession, *, scope: str, principal: str, key: str, digest: str
) -> str | None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    now = utcnow()
    row_id = new_id()
    result = await session.execute(
        insert(_keys)
        .values(
            id=row_id,
            scope=scope,
            principal=principal,
            key=key,
            request_hash=digest,
            state=IN_PROGRESS,
            created_at=now,
            expires_at=now + KEEP_FOR,
            locked_until=now + LEASE,
        )
        .on_conflict_do_nothing(index_elements=["scope", "principal", "key"])
    )
    return row_id if getattr(result, "rowcount", 0) == 1 else None


async def _take_over(session: AsyncSession, row: IdempotencyKey, digest: str) -> bool:
    """Take a claim whose lease ran out, or a key whose 24 hours are over."""
    now = utcnow()
    result = await session.execute(
        update(_keys)
        .where(
            _keys.c.id == row.id,
            (_keys.c.expires_at <= now)
            | ((_keys.c.state == IN_PROGRESS) & (_keys.c.locked_until <= now)),
        )
        .values(
            request_hash=digest,
            state=IN_PROGRESS,
            status_code=None,
            response=None,
            created_at=now,
            expires_at=now + KEEP_FOR,
            locked_until=now + LEASE,
        )
    )
    return getattr(result, "rowcount", 0) == 1


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    scope: str,
    principal: str,
    key: str,
    body: Any,
) -> Claim | JSONResponse:
    """Claim ``key`` for this request, or the stored answer of the request that had it."""
    digest = request_hash(scope, body)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_FOR_ANSWER_SECONDS
    while True:
        async with transaction(sessionmaker) as session:
            row_id = await _insert_claim(
                session, scope=scope, principal=principal, key=key, digest=digest
            )
            if row_id is not None:
                return Claim(row_id, scope, principal, key)
            row = await session.scalar(
                select(IdempotencyKey).where(
                    IdempotencyKey.scope == scope,
                    IdempotencyKey.principal == principal,
                    IdempotencyKey.key == key,
                )
            )
            if row is not None:
                now = utcnow()
                expired = row.expires_at <= now
                if not expired and row.request_hash != digest:
                    raise IdempotencyKeyReused()
                if not expired and row.state == DONE:
                    return _replayed(row)
                if await _take_over(session, row, digest):
                    return Claim(row.id, scope, principal, key)
        if loop.time() >= deadline:
            raise IdempotencyKeyInFlight()
        await asyncio.sleep(POLL_SECONDS)


async def complete(
    session: AsyncSession, claimed: Claim, status_code: int, content: dict[str, Any]
) -> None:
    """Store the answer, in the transaction of the work it answers."""
    await session.execute(
        update(_keys)
        .where(_keys.c.id == claimed.id)
        .values(state=DONE, status_code=status_code, response=content, locked_until=None)
    )


async def give_back(sessionmaker: async_sessionmaker[AsyncSession], claimed: Claim) -> None:
    """The work failed: forget the claim, so that a retry runs it."""
    async with transaction(sessionmaker) as session:
        await session.execute(
            delete(_keys).where(_keys.c.id == claimed.id, _keys.c.state == IN_PROGRESS)
        )


async def idempotent(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    scope: str,
    principal: str,
    key: str | None,
    body: Any,
    run: Callable[[AsyncSession], Awaitable[tuple[int, BaseModel]]],
    claimed: Claim | None = None,
) -> JSONResponse:
    """Answer ``run(session)``'s result, run in a write transaction that also stores the
    answer; or the stored first answer for a retried key. ``claimed``: a claim the caller
    already made (it did slow work between the claim and the run)."""
    if key is None:
        async with transaction(sessionmaker) as session:
            status, model = await run(session)
            return JSONResponse(model.model_dump(mode="json"), status_code=status)
    if claimed is None:
        got = await claim(sessionmaker, scope=scope, principal=principal, key=key, body=body)
        if isinstance(got, JSONResponse):
            return got
        claimed = got
    try:
        async with transaction(sessionmaker) as session:
            status, model = await run(session)
            content = model.model_dump(mode="json")
            await complete(session, claimed, status, content)
    except BaseException:
        await give_back(sessionmaker, claimed)
        raise
    return JSONResponse(content, status_code=status)


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyKey).where(col(IdempotencyKey.expires_at) <= now)
    )
    return int(getattr(result, "rowcount", 0) or 0)

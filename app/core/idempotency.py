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
from sqlalchemy import JSON, UniqueConstraint, Update, bindparam, delete, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
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


def _replayed(row: Any) -> JSONResponse:
    """The stored answer of ``row`` (an ORM row or a Core row of the keys table), replayed."""
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
    await session.execute(_done(claimed, status_code, content))


def _done(claimed: Claim, status_code: int, content: dict[str, Any]) -> Update:
    return (
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


# --- the claim that stores its answer: one statement, in the work's own transaction ----------

_STORE_COLUMNS = (
    "id",
    "scope",
    "principal",
    "key",
    "request_hash",
    "state",
    "status_code",
    "response",
    "created_at",
    "expires_at",
)
# Built once at import, one per dialect (the compiled statement then comes from the cache).
_STORE_FIRST = {
    name: dialect_insert(_keys)
    .values({c: bindparam(c, type_=_keys.c[c].type) for c in _STORE_COLUMNS})
    .on_conflict_do_nothing(index_elements=["scope", "principal", "key"])
    .returning(_keys.c.id)
    for name, dialect_insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
_FIND = select(_keys.c.request_hash, _keys.c.state, _keys.c.status_code, _keys.c.response).where(
    _keys.c.scope == bindparam("scope"),
    _keys.c.principal == bindparam("principal"),
    _keys.c.key == bindparam("key"),
    _keys.c.expires_at > bindparam("now", type_=UTCDateTime),
)


async def store_first(
    conn: AsyncConnection,
    *,
    scope: str,
    principal: str,
    key: str,
    digest: str,
    status_code: int,
    content: dict[str, Any],
) -> bool:
    """Claim ``key`` and store its answer at once, as the last write of the work's own
    transaction (work that calls nobody outside: no lease is needed, since no other request
    can see the key before the work commits — on PostgreSQL a duplicate in flight waits on
    the key's unique index for this transaction, then finds the answer). False when the key
    was there: the caller rolls its work back and asks ``claim`` (replay, 422, wait or take
    an expired key over)."""
    now = utcnow()
    row = (
        await conn.execute(
            _STORE_FIRST[conn.dialect.name],
            {
                "id": new_id(),
                "scope": scope,
                "principal": principal,
                "key": key,
                "request_hash": digest,
                "state": DONE,
                "status_code": status_code,
                "response": content,
                "created_at": now,
                "expires_at": now + KEEP_FOR,
            },
        )
    ).first()
    return row is not None


async def stored_answer(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    scope: str,
    principal: str,
    key: str,
    digest: str,
) -> JSONResponse | None:
    """For work that failed before storing its answer: the answer stored under ``key`` by
    an earlier request with this body (a retry is answered as the first was, even if the work
    would now fail: the cycle closed, the stock ran out), 422 for another body, or None."""
    async with sessionmaker() as session:
        row = (
            await session.execute(
                _FIND, {"scope": scope, "principal": principal, "key": key, "now": utcnow()}
            )
        ).first()
    if row is None:
        return None
    if row.request_hash != digest:
        raise IdempotencyKeyReused()
    if row.state != DONE:
        return None
    return _replayed(row)


async def complete_on(
    conn: AsyncConnection, claimed: Claim, status_code: int, content: dict[str, Any]
) -> None:
    """``complete`` on a connection (Core hot paths)."""
    await conn.execute(_done(claimed, status_code, content))


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyKey).where(col(IdempotencyKey.expires_at) <= now)
    )
    return int(getattr(result, "rowcount", 0) or 0)

"""``Idempotency-Key`` for POSTs that move money or state: the same key with the same body
answers the first response again; with another body, 422 ``idempotency_key_reused``.

Keys are kept at least 24 hours. The stored answer is written in the same transaction as
the work it answers, so a failed request leaves no key behind and can be retried.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import JSON, UniqueConstraint, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Column, Field, SQLModel, col, select

from app.core.ids import new_id
from app.core.problems import Conflict, InvalidInput
from app.core.schemas import PlainText
from app.core.timeutil import UTCDateTime, utcnow

KEEP_FOR = timedelta(hours=24)

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
    status_code: int
    response: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    expires_at: datetime = Field(sa_type=UTCDateTime, nullable=False, index=True)


class IdempotencyKeyReused(InvalidInput):
    code = "idempotency_key_reused"
    title = "This Idempotency-Key was used with another request body"


class IdempotencyKeyInFlight(Conflict):
    code = "idempotency_key_in_flight"
    title = "A request with this Idempotency-Key is still being processed; retry shortly"


def request_hash(scope: str, body: Any) -> str:
    canonical = json.dumps([scope, body], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


async def replay(
    session: AsyncSession, *, scope: str, principal: str, key: str, body: Any
) -> JSONResponse | None:
    """The stored first answer for a retried key (422 with another body), else None."""
    stored = await session.scalar(
        select(IdempotencyKey).where(
            IdempotencyKey.scope == scope,
            IdempotencyKey.principal == principal,
            IdempotencyKey.key == key,
            col(IdempotencyKey.expires_at) > utcnow(),
        )
    )
    if stored is None:
        return None
    if stored.request_hash != request_hash(scope, body):
        raise IdempotencyKeyReused()
    return JSONResponse(
        stored.response, status_code=stored.status_code, headers={"Idempotent-Replayed": "true"}
    )


async def idempotent(
    session: AsyncSession,
    *,
    scope: str,
    principal: str,
    key: str | None,
    body: Any,
    run: Callable[[], Awaitable[tuple[int, BaseModel]]],
) -> JSONResponse:
    """Answer ``run()``'s result, or the stored first answer for a retried key."""
    if key is None:
        status, model = await run()
        return JSONResponse(model.model_dump(mode="json"), status_code=status)
    digest = request_hash(scope, body)
    answer = await replay(session, scope=scope, principal=principal, key=key, body=body)
    if answer is not None:
        return answer
    status, model = await run()
    content = model.model_dump(mode="json")
    await session.execute(
        delete(IdempotencyKey).where(
            col(IdempotencyKey.scope) == scope,
            col(IdempotencyKey.principal) == principal,
            col(IdempotencyKey.key) == key,
        )
    )
    session.add(
        IdempotencyKey(
            scope=scope,
            principal=principal,
            key=key,
            request_hash=digest,
            status_code=status,
            response=content,
            expires_at=utcnow() + KEEP_FOR,
        )
    )
    try:
        await session.flush()
    except IntegrityError:
        raise IdempotencyKeyInFlight() from None
    return JSONResponse(content, status_code=status)


async def purge_expired(session: AsyncSession, *, now: datetime) -> int:
    result = await session.execute(
        delete(IdempotencyKey).where(col(IdempotencyKey.expires_at) <= now)
    )
    return int(getattr(result, "rowcount", 0) or 0)

"""Cursor pagination for every list endpoint: ``limit`` + ``cursor`` → ``{items, next_cursor}``.

Lists are ordered by a unique, immutable key (the time-ordered id by default), and the cursor
is the last key of a page, so pages are stable while rows are added.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Annotated, Any, Generic, TypeVar, cast

from fastapi import Depends, Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, QueryableAttribute

from app.core.problems import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


# The alphabet of the cursors this service gives out (unpadded URL-safe base64).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{2,200}$"


class InvalidCursor(InvalidInput):
    """A cursor of the right alphabet that is not one this service gave out: cursors are
    opaque, so no schema can tell a good one from a bad one."""

    code = "invalid_cursor"
    title = "The cursor is not valid"


class PageParams(BaseModel):
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None

    def after(self) -> str | None:
        return decode_cursor(self.cursor) if self.cursor else None


async def page_params(  # async: a sync dependency hops to the thread pool
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=CURSOR_PATTERN,
            description="The `next_cursor` of the page before; opaque",
        ),
    ] = None,
) -> PageParams:
    params = PageParams(limit=limit, cursor=cursor)
    params.after()  # reject a bad cursor before touching the database
    return params


PageParamsDep = Annotated[PageParams, Depends(page_params)]


def encode_cursor(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


_CURSOR = re.compile(CURSOR_PATTERN)


def decode_cursor(cursor: str) -> str:
    try:
        if not _CURSOR.match(cursor):
            raise ValueError(cursor)
        padded = cursor + "=" * (-len(cursor) % 4)
        key = base64.urlsafe_b64decode(padded.encode()).decode()
        if not key.isprintable():
            raise ValueError(cursor)
        return key
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidCursor(
            "The cursor is not one this service gave out",
            errors=[{"field": "cursor", "detail": "malformed cursor"}],
        ) from None


async def paginate(
    session: AsyncSession,
    stmt: Select[Any],
    *,
    key: Mapped[str],
    params: PageParams,
) -> tuple[Sequence[Any], str | None]:
    """Run ``stmt`` ordered by ``key`` for one page; return its rows and the next cursor."""
    after = params.after()
    if after is not None:
        stmt = stmt.where(key > after)
    rows = (await session.scalars(stmt.order_by(key).limit(params.limit + 1))).all()
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        name = cast(QueryableAttribute[str], key).key
        return rows, encode_cursor(getattr(rows[-1], name))
    return rows, None

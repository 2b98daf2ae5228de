"""Counting the SQL statements a request runs: a list page must cost the same whatever its
size (no N+1)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event


@contextmanager
def count_statements(app: FastAPI) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(*args: Any) -> None:
        statements.append(args[2])

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)


async def statements_per_page(
    app: FastAPI, get: Callable[[int], Awaitable[httpx.Response]], sizes: tuple[int, int]
) -> dict[int, int]:
    """The statements a page of each size costs (each page asserted full: as many items as
    its size), keyed by the size."""
    counts = {}
    for size in sizes:
        with count_statements(app) as statements:
            r = await get(size)
        assert r.status_code == 200, r.text
        assert len(r.json()["items"]) == size, r.json()
        counts[size] = len(statements)
    return counts

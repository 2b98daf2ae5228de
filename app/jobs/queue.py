"""Deferring a job inside the caller's transaction: the job exists if and only if the change
that asked for it commits, so a rolled-back request sends nothing.

On PostgreSQL the job goes into procrastinate's table through its own SQL function, on the
caller's connection (procrastinate's trigger wakes a listening worker at commit); on SQLite it
goes into ``local_jobs`` and the API process is woken after the commit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.db import after_commit
from app.core.timeutil import utcnow
from app.jobs.models import LocalJob
from app.jobs.tasks import REGISTRY

_local = LocalJob.__table__  # type: ignore[attr-defined]

_DEFER = text(
    "SELECT procrastinate_defer_jobs_v1(ARRAY[ROW(:queue, :task, 0, NULL, NULL, "
    "CAST(:args AS jsonb), :at)::procrastinate_job_to_defer_v1])"
)

# what wakes the embedded runner after a commit (set by app/jobs/local.py when it runs)
wake_local: list[Callable[[], None]] = []


def _wake() -> None:
    for wake in wake_local:
        wake()


async def defer(
    db: AsyncSession | AsyncConnection,
    task_name: str,
    args: dict[str, Any] | None = None,
    *,
    delay_seconds: float = 0,
    at: datetime | None = None,
) -> None:
    task = REGISTRY[task_name]  # a KeyError here is a programming error
    args = args or {}
    when = at or (utcnow() + timedelta(seconds=delay_seconds) if delay_seconds else None)
    bind = db.get_bind() if isinstance(db, AsyncSession) else db
    if bind.dialect.name == "postgresql":
        await db.execute(
            _DEFER,
            {"queue": task.queue, "task": task.name, "args": json.dumps(args), "at": when},
        )
        return
    await db.execute(
        insert(_local).values(
            task_name=task.name,
            args=args,
            status="todo",
            attempts=0,
            run_at=when or utcnow(),
            created_at=utcnow(),
        )
    )
    if isinstance(db, AsyncSession):
        after_commit(db, _wake_after_commit)


async def _wake_after_commit() -> None:
    _wake()

"""Running the background jobs from a test, when the test chooses: ``drain`` runs what is
due (on SQLite the embedded runner, on PostgreSQL a procrastinate worker with ``wait=False``)
and what that defers, until nothing is due; ``forward=True`` first makes every waiting job due
now (a retry's backoff), round after round."""

from __future__ import annotations

from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import func, select, text, update

from app.core.timeutil import utcnow
from app.jobs.local import run_due
from app.jobs.models import LocalJob
from app.jobs.tasks import JobContext
from app.jobs.worker import run_worker

_local = LocalJob.__table__  # type: ignore[attr-defined]


async def due(app: FastAPI) -> int:
    async with app.state.engine.connect() as conn:
        if app.state.settings.is_sqlite:
            count = await conn.scalar(
                select(func.count())
                .select_from(_local)
                .where(_local.c.status == "todo", _local.c.run_at <= utcnow())
            )
        else:
            count = await conn.scalar(
                text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' "
                    "AND (scheduled_at IS NULL OR scheduled_at <= now())"
                )
            )
    return int(count or 0)


async def fast_forward(app: FastAPI) -> None:
    async with app.state.engine.begin() as conn:
        if app.state.settings.is_sqlite:
            await conn.execute(
                update(_local)
                .where(_local.c.status == "todo")
                .values(run_at=datetime(2000, 1, 1, tzinfo=utcnow().tzinfo))
            )
        else:
            await conn.execute(
                text("UPDATE procrastinate_jobs SET scheduled_at = NULL WHERE status = 'todo'")
            )


async def drain(app: FastAPI, *, forward: bool = False, rounds: int = 20) -> None:
    """Run the due jobs, and those they defer, until none is due (at most ``rounds`` runs)."""
    settings = app.state.settings
    for _ in range(rounds):
        if forward:
            await fast_forward(app)
        if not await due(app):
            return
        if settings.is_sqlite:
            await run_due(JobContext(app.state.sessionmaker, settings))
        else:
            await run_worker(settings, concurrency=1, wait=False, periodic=False)


__all__ = ["drain", "due", "fast_forward"]

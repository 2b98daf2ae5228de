"""The embedded engine: on SQLite the API process runs the deferred jobs itself, so `make demo`
needs no second process. Jobs wait in ``local_jobs`` (written in the deferring transaction);
a background loop, woken after each commit and every second, claims due jobs one at a time
with a conditional UPDATE, runs them, and retries a failed one with the same backoff as
procrastinate's. Periodic tasks run from the same loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import traceback
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import transaction
from app.core.metrics import JOB_FAILURES
from app.core.timeutil import utcnow
from app.jobs import queue
from app.jobs.models import LocalJob
from app.jobs.tasks import PERIODIC, REGISTRY, JobContext, backoff, interval

log = logging.getLogger(__name__)
_jobs = LocalJob.__table__  # type: ignore[attr-defined]
# a job left "doing" this long was cut by a crash of the process: it runs again
STALE_AFTER = timedelta(minutes=10)


async def _claim(ctx: JobContext) -> tuple[int, str, dict[str, object], int] | None:
    now = utcnow()
    async with transaction(ctx.sessionmaker) as session:
        due = (
            select(_jobs.c.id)
            .where(
                ((_jobs.c.status == "todo") & (_jobs.c.run_at <= now))
                | ((_jobs.c.status == "doing") & (_jobs.c.locked_at < now - STALE_AFTER))
            )
            .order_by(_jobs.c.run_at, _jobs.c.id)
            .limit(1)
            .scalar_subquery()
        )
        row = (
            await session.execute(
                update(_jobs)
                .where(_jobs.c.id == due)
                .values(status="doing", locked_at=now, attempts=_jobs.c.attempts + 1)
                .returning(_jobs.c.id, _jobs.c.task_name, _jobs.c.args, _jobs.c.attempts)
            )
        ).first()
    return None if row is None else (row[0], row[1], row[2], row[3])


async def _finish(ctx: JobContext, job_id: int, values: dict[str, object]) -> None:
    async with transaction(ctx.sessionmaker) as session:
        await session.execute(update(_jobs).where(_jobs.c.id == job_id).values(**values))


async def run_due(ctx: JobContext, *, limit: int = 10_000) -> int:
    """Run every job that is due now, one after the other; how many ran."""
    ran = 0
    while ran < limit:
        claimed = await _claim(ctx)
        if claimed is None:
            return ran
        job_id, name, args, attempts = claimed
        ran += 1
        task = REGISTRY.get(name)
        try:
            if task is None:
                raise LookupError(f"no task named {name!r}")
            await task.fn(ctx, **args)
        except Exception as exc:
            log.exception("job %s (%s) failed, attempt %s", job_id, name, attempts)
            JOB_FAILURES.labels(name).inc()
            error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
            if task is None or attempts >= task.max_attempts:
                await _finish(ctx, job_id, {"status": "failed", "last_error": error})
            else:
                retry_at = utcnow() + timedelta(seconds=backoff(task, attempts))
                await _finish(
                    ctx, job_id, {"status": "todo", "run_at": retry_at, "last_error": error}
                )
        else:
            await _finish(ctx, job_id, {"status": "succeeded", "locked_at": None})
    return ran


class LocalRunner:
    """Runs the embedded database's jobs and periodic tasks in the background of the API."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        *,
        periodic: bool = True,
        poll_seconds: float = 1.0,
    ) -> None:
        self.ctx = JobContext(sessionmaker, settings)
        self.periodic = periodic
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_periodic: dict[str, float] = {}

    def start(self) -> None:
        queue.wake_local.append(self._wake.set)
        self._task = asyncio.create_task(self._run(), name="minga-local-jobs")

    async def stop(self) -> None:
        with contextlib.suppress(ValueError):
            queue.wake_local.remove(self._wake.set)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _periodic(self) -> None:
        now = time.monotonic()
        for name, job in PERIODIC.items():
            every: float = interval(job, self.ctx.settings)
            if name == "cycles.tick":  # the setting of the in-process scheduler it replaces
                every = self.ctx.settings.scheduler_interval_seconds
            if now - self._last_periodic.get(name, float("-inf")) < every:
                continue
            self._last_periodic[name] = now
            try:
                await job.fn(self.ctx)
            except Exception:
                log.exception("periodic task %s failed", name)
                JOB_FAILURES.labels(name).inc()

    async def _run(self) -> None:
        while True:
            try:
                if self.periodic:
                    await self._periodic()
                await run_due(self.ctx)
            except Exception:
                log.exception("the embedded job runner failed")
                JOB_FAILURES.labels("local_jobs").inc()
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_seconds)

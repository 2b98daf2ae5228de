"""procrastinate on PostgreSQL: the tasks of ``app/jobs/tasks.py`` as procrastinate tasks,
with their retries and periodic schedules, and the worker that ``minga worker`` runs.

procrastinate talks to PostgreSQL through psycopg 3 (the API keeps asyncpg); its schema is
made by the Alembic revision 0022 from the file it ships with the pinned version. Jobs are
deferred by the API in its own transaction (``app/jobs/queue.py``), not through this app.
"""

from __future__ import annotations

import logging
from typing import Any

import procrastinate
from sqlalchemy.engine import make_url

from app.core.config import Settings
from app.jobs.tasks import PERIODIC, REGISTRY, JobContext, cron, interval

log = logging.getLogger(__name__)


def conninfo(database_url: str) -> str:
    """The libpq address of the SQLAlchemy URL (``postgresql+asyncpg://…`` → ``postgresql://…``)."""
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        raise ValueError("procrastinate needs PostgreSQL (the embedded SQLite runs jobs itself)")
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def build(settings: Settings, ctx: JobContext, *, periodic: bool = True) -> procrastinate.App:
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(settings.database_url))
    )
    for task in REGISTRY.values():
        app.task(
            name=task.name,
            queue=task.queue,
            retry=procrastinate.RetryStrategy(
                max_attempts=task.max_attempts, exponential_wait=int(task.base_wait_seconds)
            ),
        )(_bind(task.fn, ctx))
    if not periodic:  # a drain of what is queued (tests): no schedules
        return app
    for job in PERIODIC.values():
        app.periodic(cron=cron(interval(job, settings)), periodic_id=job.name)(
            app.task(name=job.name, queueing_lock=job.name)(_periodic(job.fn, ctx))
        )

    @app.periodic(cron=cron(settings.jobs_sweep_seconds), periodic_id="jobs.retry_stalled")
    @app.task(name="jobs.retry_stalled", queueing_lock="jobs.retry_stalled")
    async def retry_stalled(timestamp: int) -> None:
        """Jobs of a worker that died (no heartbeat) run again: every task is safe to rerun."""
        for job in await app.job_manager.get_stalled_jobs(
            seconds_since_heartbeat=settings.jobs_stalled_after_seconds
        ):
            log.warning("retrying job %s (%s) of a stalled worker", job.id, job.task_name)
            await app.job_manager.retry_job(job)

    return app


def _bind(fn: Any, ctx: JobContext) -> Any:
    async def run(**kwargs: Any) -> None:
        await fn(ctx, **kwargs)

    run.__name__ = fn.__name__
    return run


def _periodic(fn: Any, ctx: JobContext) -> Any:
    async def run(timestamp: int) -> None:
        await fn(ctx)

    run.__name__ = fn.__name__
    return run

"""``minga worker``: a procrastinate worker over the tasks of ``app/jobs/tasks.py``."""

from __future__ import annotations

from procrastinate.app import WorkerOptions

from app.core.config import Settings
from app.core.db import create_engine, create_sessionmaker
from app.jobs.engine import build
from app.jobs.tasks import JobContext


async def run_worker(
    settings: Settings,
    *,
    concurrency: int = 4,
    queues: list[str] | None = None,
    wait: bool = True,
    periodic: bool = True,
) -> None:
    """Run jobs until stopped (SIGINT/SIGTERM finish the running ones first); with
    ``wait=False``, run what is queued now and return (tests, one-off drains)."""
    engine = create_engine(settings)
    try:
        ctx = JobContext(create_sessionmaker(engine), settings)
        app = build(settings, ctx, periodic=periodic)
        options: WorkerOptions = {
            "concurrency": concurrency,
            "wait": wait,
            "install_signal_handlers": wait,
            "update_heartbeat_interval": settings.jobs_heartbeat_seconds,
            "stalled_worker_timeout": settings.jobs_stalled_after_seconds,
            "delete_jobs": "successful",  # the notifications table keeps what was sent
            "listen_notify": wait,
        }
        if queues:  # else every queue: no ``queues`` at all (``[]`` would match none)
            options["queues"] = queues
        async with app.open_async():
            await app.run_worker_async(**options)
    finally:
        await engine.dispose()

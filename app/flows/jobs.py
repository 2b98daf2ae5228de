"""The background work of the whole service, in one place: the task modules (whose
``@task``/``@periodic`` declarations fill the registry of ``app/jobs/tasks.py``) and the
periodic tick of the cycles, which either engine runs."""

from __future__ import annotations

from app.accounts import recovery
from app.core.timeutil import utcnow
from app.events import service as events_service
from app.flows import documents, routes, settlement
from app.jobs.tasks import JobContext, periodic
from app.notifications import service as notifications_service
from app.orders import scheduler
from app.webhooks import delivery as webhooks_delivery

TASK_MODULES = (
    events_service,
    notifications_service,
    recovery,
    webhooks_delivery,
    routes,
    settlement,
    documents,
)


@periodic("cycles.tick", every_seconds=5)
async def cycles_tick(ctx: JobContext) -> None:
    """Open and close what is due (several workers ticking at once do each change once)."""
    await scheduler.tick(ctx.sessionmaker, ctx.settings, utcnow())

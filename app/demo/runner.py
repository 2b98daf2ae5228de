"""Run the demo: build the Cotopaxi network and a whole cycle through Minga's public HTTP API,
in-process (``httpx`` over the ASGI app), on the database the settings name.

The database must be migrated and the first platform admin set in the settings. Nothing is
written to the tables except through the API (and the background jobs the API deferred,
run at the end: the e-mails of the cycle).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI
from sqlalchemy import func
from sqlmodel import col, select

from app.core.config import Settings
from app.core.timeutil import utcnow
from app.demo.client import DemoApi, Step
from app.demo.cycle import CycleRun, CycleRunner
from app.demo.network import Builder, Login, World
from app.jobs.local import run_due
from app.jobs.tasks import JobContext
from app.main import bootstrap, create_app
from app.notifications.models import Notification


@dataclass
class DemoResult:
    world: World
    run: CycleRun
    steps: list[Step]
    admin: Login
    seconds: float
    emails: dict[str, int] = field(default_factory=dict)  # sent by kind

    @property
    def failed_steps(self) -> list[Step]:
        return [s for s in self.steps if not s.ok]


async def run_demo(settings: Settings) -> DemoResult:
    """Load the demo network and run its cycle; the API calls stop at the first failure
    (``DemoStepFailed`` names the request and the answer)."""
    if not (settings.first_admin_email and settings.first_admin_password):
        raise ValueError("the demo needs MINGA_FIRST_ADMIN_EMAIL and MINGA_FIRST_ADMIN_PASSWORD")
    started = time.perf_counter()
    app = create_app(settings)
    try:
        await bootstrap(app)  # the start-up hook: ensures the first platform admin
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://minga.demo", timeout=120
        ) as client:
            api = DemoApi(client)
            email = settings.first_admin_email
            password = settings.first_admin_password.get_secret_value()
            admin = await api.login(email, password)
            world = await Builder(api, admin).build()
            run = await CycleRunner(api, world, settings, utcnow()).everything()
        # what the cycle told people: the jobs the API process would run, run now
        await run_due(JobContext(app.state.sessionmaker, settings))
        emails = await sent_by_kind(app)
    finally:
        await app.state.engine.dispose()
    return DemoResult(
        world=world,
        run=run,
        steps=api.steps,
        admin=Login("platform admin", "Minga", email, password),
        seconds=time.perf_counter() - started,
        emails=emails,
    )


async def sent_by_kind(app: FastAPI) -> dict[str, int]:
    async with app.state.sessionmaker() as session:
        rows = await session.execute(
            select(col(Notification.kind), func.count())
            .where(Notification.state == "sent")
            .group_by(col(Notification.kind))
            .order_by(col(Notification.kind))
        )
        return dict(rows.tuples().all())

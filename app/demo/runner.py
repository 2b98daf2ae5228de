"""Run the demo: build the Cotopaxi network and a whole cycle through Minga's public HTTP API,
in-process (``httpx`` over the ASGI app), on the database the settings name.

The database must be migrated and the first platform admin set in the settings. Nothing is
written to the tables except through the API.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from app.core.config import Settings
from app.core.timeutil import utcnow
from app.demo.client import DemoApi, Step
from app.demo.cycle import CycleRun, CycleRunner
from app.demo.network import Builder, Login, World
from app.main import bootstrap, create_app


@dataclass
class DemoResult:
    world: World
    run: CycleRun
    steps: list[Step]
    admin: Login
    seconds: float

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
    finally:
        await app.state.engine.dispose()
    return DemoResult(
        world=world,
        run=run,
        steps=api.steps,
        admin=Login("platform admin", "Minga", email, password),
        seconds=time.perf_counter() - started,
    )

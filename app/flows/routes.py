"""Planning a delivery day: load the problem, solve it with no transaction open (OSRM and
the solver can take seconds), store the plan in a short write transaction that reads the
problem again and refuses a plan solved for a problem that changed meanwhile."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.principal import Principal
from app.core.config import Settings
from app.core.db import transaction
from app.fulfilment import routes
from app.fulfilment.schemas import RoutePlanPublic


async def plan_routes(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    cycle_id: str,
    *,
    now: datetime,
    time_limit_s: float | None = None,
) -> RoutePlanPublic:
    crate_kg = settings.route_crate_kg
    async with transaction(sessionmaker, write=False) as session:
        problem = await routes.load_problem(session, principal, cycle_id, crate_kg=crate_kg)
    # no transaction is open here: OSRM and the solver may take seconds
    solved = await routes.solve(settings, problem, time_limit_s=time_limit_s)
    async with transaction(sessionmaker) as session:
        plan = await routes.store(session, principal, solved, now=now, crate_kg=crate_kg)
        return await routes.plan_public(session, plan)

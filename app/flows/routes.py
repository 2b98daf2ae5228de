"""Planning a delivery day: load the problem, solve it with no transaction open (OSRM and
the solver can take seconds), store the plan in a short write transaction that reads the
problem again and refuses a plan solved for a problem that changed meanwhile.

A large day (``route_async_min_stops`` stops or more), or a request with ``Prefer:
respond-async``, is planned by a job instead: the request answers 202 with the operation to
poll (``app/jobs/operations.py``), and the job plans and stores it the same way."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts.principal import SYSTEM, Principal
from app.core.config import Settings
from app.core.db import transaction
from app.core.i18n import current_language
from app.core.problems import Problem
from app.core.timeutil import utcnow
from app.fulfilment import routes
from app.fulfilment.schemas import RoutePlanPublic
from app.jobs import operations
from app.jobs.models import Operation
from app.jobs.tasks import JobContext, task
from app.orders.models import OrderCycle

log = logging.getLogger(__name__)


async def plan_routes(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    cycle_id: str,
    *,
    now: datetime,
    time_limit_s: float | None = None,
    prefer_async: bool = False,
) -> RoutePlanPublic | Operation:
    crate_kg = settings.route_crate_kg
    async with transaction(sessionmaker, write=False) as session:
        problem = await routes.load_problem(session, principal, cycle_id, crate_kg=crate_kg)
    if prefer_async or len(problem.stops) >= settings.route_async_min_stops:
        async with transaction(sessionmaker) as session:
            cycle = await session.get(OrderCycle, cycle_id)
            assert cycle is not None  # load_problem found it
            return await operations.start(
                session,
                kind="route_plan",
                task_name="routes.plan",
                organization_id=cycle.collection_centre_id,
                user_id=principal.user_id,
                args={
                    "cycle_id": cycle_id,
                    "time_limit_s": time_limit_s,
                    "language": current_language(),
                },
            )
    return await _solve_and_store(sessionmaker, settings, principal, problem, now, time_limit_s)


async def _solve_and_store(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    problem: routes.RouteProblem,
    now: datetime,
    time_limit_s: float | None,
) -> RoutePlanPublic:
    # no transaction is open here: OSRM and the solver may take seconds
    solved = await routes.solve(settings, problem, time_limit_s=time_limit_s)
    async with transaction(sessionmaker) as session:
        plan = await routes.store(
            session, principal, solved, now=now, crate_kg=settings.route_crate_kg
        )
        return await routes.plan_public(session, plan)


@task("routes.plan", max_attempts=3)
async def plan_in_background(ctx: JobContext, operation_id: str) -> None:
    operation = await operations.claim(ctx.sessionmaker, operation_id)
    if operation is None:
        return
    cycle_id = str(operation.args["cycle_id"])
    limit = operation.args.get("time_limit_s")
    try:
        async with transaction(ctx.sessionmaker, write=False) as session:
            problem = await routes.load_problem(
                session, SYSTEM, cycle_id, crate_kg=ctx.settings.route_crate_kg
            )
        await _solve_and_store(
            ctx.sessionmaker,
            ctx.settings,
            SYSTEM,
            problem,
            utcnow(),
            float(limit) if limit is not None else None,
        )
    except Problem as problem:  # the shipments changed, no vehicle fits…: the answer
        await operations.fail(ctx.sessionmaker, operation, problem)
        return
    await operations.succeed(ctx.sessionmaker, operation_id, f"/api/v1/cycles/{cycle_id}/routes")

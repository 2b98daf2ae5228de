"""Operations: slow work a request hands to a job, and the record of how it went
(``GET /api/v1/operations/{id}``). Written with the job in one transaction; the job claims it
(queued, or running when a dead worker's job runs again), and finishes it with the place of
its result or the problem that stopped it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.db import transaction
from app.core.ids import new_id
from app.core.problems import Problem
from app.core.timeutil import utcnow
from app.jobs import queue
from app.jobs.models import Operation

_ops = Operation.__table__  # type: ignore[attr-defined]


async def start(
    session: AsyncSession,
    *,
    kind: str,
    task_name: str,
    organization_id: str,
    user_id: str | None,
    args: dict[str, Any],
) -> Operation:
    operation = Operation(
        id=new_id(),
        kind=kind,
        organization_id=organization_id,
        requested_by_user_id=user_id,
        args=args,
    )
    session.add(operation)
    await session.flush()
    await queue.defer(session, task_name, {"operation_id": operation.id})
    return operation


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession], operation_id: str
) -> Operation | None:
    async with transaction(sessionmaker) as session:
        claimed = await session.execute(
            update(_ops)
            .where(_ops.c.id == operation_id, _ops.c.state.in_(("queued", "running")))
            .values(state="running", started_at=utcnow())
            .returning(_ops.c.id)
        )
        if claimed.scalar() is None:
            return None  # finished already
        return await session.get(Operation, operation_id)


async def succeed(
    sessionmaker: async_sessionmaker[AsyncSession], operation_id: str, result_path: str
) -> None:
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(_ops)
            .where(_ops.c.id == operation_id)
            .values(state="succeeded", result_path=result_path, finished_at=utcnow())
        )


async def fail(
    sessionmaker: async_sessionmaker[AsyncSession],
    operation: Operation,
    problem: Problem,
) -> None:
    """Finish with the problem, in the language of the request that asked for the work."""
    language = str(operation.args.get("language") or "es")
    body = problem.body(language=language).model_dump(mode="json", exclude_none=True)
    operation_id = operation.id
    async with transaction(sessionmaker) as session:
        await session.execute(
            update(_ops)
            .where(_ops.c.id == operation_id)
            .values(state="failed", problem=body, finished_at=utcnow())
        )

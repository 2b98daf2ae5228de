"""Cycles open and close by themselves: ``tick`` does what is due, once.

The embedded default runs ``tick`` in-process every few seconds; with cron, ``minga cycles
tick`` does the same. Each cycle changes state in its own transaction through a conditional
update, so several workers ticking at once open or close a due cycle exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings
from app.core.db import transaction
from app.core.idempotency import purge_expired
from app.core.metrics import JOB_FAILURES
from app.core.timeutil import utcnow
from app.orders import cycles
from app.orders.models import OrderCycle

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    opened: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


async def tick(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, now: datetime
) -> TickResult:
    result = TickResult()
    async with transaction(sessionmaker, write=False) as session:
        to_open, to_close = await cycles.due_cycles(session, now)
    for cycle_id in to_open:
        try:
            async with transaction(sessionmaker) as session:
                cycle = await session.get(OrderCycle, cycle_id)
                if cycle is not None and await cycles.open_cycle(session, settings, cycle, now):
                    result.opened.append(cycle_id)
        except Exception:
            log.exception("opening cycle %s failed", cycle_id)
            JOB_FAILURES.labels("cycle_open").inc()
            result.failed.append(cycle_id)
    for cycle_id in to_close:
        try:
            async with transaction(sessionmaker) as session:
                cycle = await session.get(OrderCycle, cycle_id)
                if cycle is not None and cycle.status == "open":
                    await cycles.run_cut_off(session, settings, cycle, now)
                    await session.refresh(cycle)
                    if cycle.status != "open":
                        result.closed.append(cycle_id)
        except Exception:
            log.exception("closing cycle %s failed", cycle_id)
            JOB_FAILURES.labels("cycle_close").inc()
            result.failed.append(cycle_id)
    try:
        async with transaction(sessionmaker) as session:
            await cycles.remind_closing(session, settings, now)
    except Exception:
        log.exception("reminding buyers of closing cycles failed")
        JOB_FAILURES.labels("cycle_closing").inc()
    for hook in cycles.hooks.every_tick:
        try:
            await hook(sessionmaker, settings)
        except Exception:
            log.exception("a periodic task failed")
            JOB_FAILURES.labels("tick_hook").inc()
    async with transaction(sessionmaker) as session:
        await purge_expired(session, now=now)
    return result


class Scheduler:
    """Ticks in the background of one API process until stopped."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        settings: Settings,
        interval_seconds: float,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.settings = settings
        self.interval = interval_seconds
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="minga-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            try:
                done = await tick(self.sessionmaker, self.settings, utcnow())
                if done.opened or done.closed:
                    log.info("scheduler opened %s closed %s", done.opened, done.closed)
            except Exception:
                log.exception("scheduler tick failed")
                JOB_FAILURES.labels("scheduler_tick").inc()
            await asyncio.sleep(self.interval)

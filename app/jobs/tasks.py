"""The tasks Minga runs in the background, declared once and run by either engine: procrastinate
on PostgreSQL (``minga worker``, ``app/jobs/engine.py``), the API process on the embedded SQLite
database (``app/jobs/local.py``).

A task is an ``async def task(ctx, **args)`` of JSON-able arguments; it must be safe to run
twice (a worker may die after the work and before saying so): every task here claims its row
with a conditional UPDATE first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.config import Settings


@dataclass(frozen=True)
class JobContext:
    sessionmaker: async_sessionmaker[AsyncSession]
    settings: Settings


TaskFunction = Callable[..., Awaitable[None]]


@dataclass(frozen=True)
class Task:
    name: str
    fn: TaskFunction
    max_attempts: int  # then the job is failed (and its row says why)
    base_wait_seconds: float  # the wait before attempt n is base ** n seconds (3, 9, 27…)
    queue: str


@dataclass(frozen=True)
class Periodic:
    name: str
    fn: TaskFunction
    every_seconds: int  # a divisor of 60 (cron's seconds column) or a multiple of 60
    every_setting: str | None = None  # the setting that says how often, where one does


REGISTRY: dict[str, Task] = {}
PERIODIC: dict[str, Periodic] = {}


def task(
    name: str, *, max_attempts: int = 10, base_wait_seconds: float = 3.0, queue: str = "default"
) -> Callable[[TaskFunction], TaskFunction]:
    def register(fn: TaskFunction) -> TaskFunction:
        REGISTRY[name] = Task(name, fn, max_attempts, base_wait_seconds, queue)
        return fn

    return register


def periodic(
    name: str, *, every_seconds: int, every_setting: str | None = None
) -> Callable[[TaskFunction], TaskFunction]:
    def register(fn: TaskFunction) -> TaskFunction:
        PERIODIC[name] = Periodic(name, fn, every_seconds, every_setting)
        return fn

    return register


def backoff(task: Task, attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt (procrastinate's exponential
    wait, the same on both engines)."""
    return float(task.base_wait_seconds ** (attempts + 1))


def interval(job: Periodic, settings: Settings) -> int:
    if job.every_setting is None:
        return job.every_seconds
    return int(getattr(settings, job.every_setting))


def cron(every_seconds: int) -> str:
    if every_seconds < 60:
        return f"* * * * * */{every_seconds}"
    return f"*/{every_seconds // 60} * * * *"


async def run(ctx: JobContext, name: str, args: dict[str, Any]) -> None:
    await REGISTRY[name].fn(ctx, **args)

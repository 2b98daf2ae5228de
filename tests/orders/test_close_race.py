"""An order that arrives while its cycle closes is never lost.

It either goes in before the close, and the close aggregates it (its lines get a confirmed
quantity, it counts in the demand and the allocations), or it is refused with 409
``cycle_not_open``. It is never placed but left out of the aggregation, and it never gets a 500.

On PostgreSQL the cycle row orders the two: an order re-reads it ``FOR SHARE``
(``app.orders.service.gate``) and a close updates it
(``app.orders.cycles.transition``). The races are made deterministic the way Saleor's
``tests/race_condition.py`` does it: the real function is wrapped where it is looked up, and
the wrapper pauses its request on an ``asyncio.Event`` at the exact point, while the other
request starts. Both requests go through the same ASGI app, each with its own session and
connection. Every injection point must be reached (within ``STEP`` seconds) and the waiting
request must be seen waiting for the other's lock in ``pg_blocking_pids``, so a refactoring
that moves the patched functions makes these tests fail, never pass vacuously.

On SQLite one writer runs at a time, so the race cannot happen; there the sequential outcomes
are checked (that test also runs on PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.timeutil import utcnow
from app.orders import cycles
from app.orders import service as order_service
from app.orders.models import CycleStatus
from tests.orders.conftest import Market
from tests.utils import assert_problem

STEP = 10.0  # seconds: the bound on every wait in these tests; a miss fails, never hangs
BLOCKED_FOR = 0.5  # seconds the waiting request must stay unfinished

on_postgresql = pytest.mark.skipif(
    not os.environ.get("MINGA_TEST_DATABASE_URL"),
    reason="the race needs PostgreSQL row locks; SQLite runs one writer at a time",
)


class Pause:
    """An injection point: ``reached`` is set when a request gets there; it then waits for
    ``release`` (when it pauses at all). ``pid`` is the backend of that request's session."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.reached = asyncio.Event()
        self.release = asyncio.Event()
        self.pid: int | None = None
        self.calls = 0

    async def arrive(self, session: AsyncSession | AsyncConnection) -> None:
        self.calls += 1
        self.pid = int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        self.reached.set()

    async def wait_reached(self) -> int:
        try:
            await asyncio.wait_for(self.reached.wait(), STEP)
        except TimeoutError:
            pytest.fail(
                f"injection point never reached: {self.name} (renamed or moved? the race "
                "test must be updated with it)"
            )
        assert self.pid is not None
        return self.pid


async def wait_until_blocked(app: FastAPI, *, waiter: int, holder: int) -> None:
    """Poll until backend ``waiter`` waits for a lock that backend ``holder`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + STEP
    while True:
        async with app.state.engine.connect() as conn:  # a fresh transaction each time
            blocked = (
                await conn.execute(
                    text("SELECT CAST(:holder AS integer) = ANY(pg_blocking_pids(:waiter))"),
                    {"holder": holder, "waiter": waiter},
                )
            ).scalar_one()
        if blocked:
            return
        if loop.time() > deadline:
            pytest.fail(f"backend {waiter} never waited for a lock of backend {holder}")
        await asyncio.sleep(0.01)


async def still_running(task: asyncio.Task[Any]) -> bool:
    """True when ``task`` is still not done after ``BLOCKED_FOR`` seconds (it is not
    cancelled, unlike with ``asyncio.wait_for``)."""
    done, _ = await asyncio.wait({task}, timeout=BLOCKED_FOR)
    return not done


async def settle(tasks: Iterable[asyncio.Task[Any]], pauses: Iterable[Pause]) -> None:
    """Whatever happened, let every paused request go and finish, so that no transaction
    keeps its locks past the test (the teardown truncates the tables)."""
    for pause in pauses:
        pause.release.set()
    pending = [t for t in tasks if not t.done()]
    if pending:
        _, late = await asyncio.wait(pending, timeout=STEP)
        for task in late:
            task.cancel()
    for task in tasks:
        if task.done() and not task.cancelled():
            task.exception()  # retrieved: no "exception was never retrieved" noise


def close(m: Market) -> Awaitable[httpx.Response]:
    return m.client.post(f"/api/v1/cycles/{m.cycle['id']}/close", headers=m.net.admin)


async def assert_before_the_cut_off(m: Market) -> None:
    """The cut-off is days away: a refusal can only come from the close."""
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}", headers=m.buyer_staff)
    assert r.status_code == 200, r.text
    assert datetime.fromisoformat(r.json()["closes_at"]) > utcnow()


async def assert_aggregated(m: Market, order_id: str, quantity: str) -> None:
    r = await m.client.get(f"/api/v1/orders/{order_id}", headers=m.buyer_staff)
    assert r.status_code == 200, r.text
    order = r.json()
    assert order["status"] == "confirmed", order
    [line] = order["lines"]
    assert line["confirmed_quantity"] == quantity
    assert line["final_unit_price_cents"] is not None


async def cycle_orders(m: Market) -> list[dict[str, Any]]:
    r = await m.client.get(
        "/api/v1/orders", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def allocated(m: Market) -> Decimal:
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/allocations", headers=m.net.admin)
    assert r.status_code == 200, r.text
    return sum((Decimal(a["quantity"]) for a in r.json()), Decimal(0))


def demand(result: dict[str, Any], m: Market) -> str:
    [row] = [s for s in result["skus"] if s["sku_id"] == m.sku["id"]]
    value: str = row["demand"]
    return value


async def test_an_order_before_the_close_is_aggregated_and_one_after_is_refused(
    market: Market,
) -> None:
    """The sequential outcomes, on either database."""
    m = market
    before = await m.order("7")
    assert before.status_code == 201, before.text
    r = await close(m)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "closed"
    assert demand(r.json(), m) == "7.000"
    await assert_aggregated(m, before.json()["id"], "7.000")
    assert await allocated(m) == 7

    await assert_before_the_cut_off(m)
    assert_problem(await m.order("3"), 409, "cycle_not_open")
    assert (await m.availability())["reserved"] == "7.000"
    assert [o["id"] for o in await cycle_orders(m)] == [before.json()["id"]]


@pytest.mark.postgres
@on_postgresql
async def test_close_waits_for_an_order_holding_its_lock_and_aggregates_it(
    market: Market, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A: the order has its shared lock on the cycle when the close starts. The close's
    UPDATE waits for the order's commit, then aggregates the order."""
    m = market
    assert app.state.engine.dialect.name == "postgresql"
    cycle_id = m.cycle["id"]
    first = await m.order("4")
    assert first.status_code == 201, first.text

    order_locked = Pause("app.orders.service.gate, in place_on_terms()")
    close_updating = Pause("app.orders.cycles.transition(open -> closed), in close_cycle()")
    real_gate = order_service.gate
    real_transition = cycles.transition

    async def locked_then_pause(
        conn: AsyncConnection, cid: str, buyer_id: str
    ) -> order_service.Gate | None:
        cycle = await real_gate(conn, cid, buyer_id)
        if cid == cycle_id:
            await order_locked.arrive(conn)
            await order_locked.release.wait()
        return cycle

    async def transition_spy(
        session: AsyncSession,
        cid: str,
        source: CycleStatus,
        target: CycleStatus,
        now: datetime,
    ) -> bool:
        if cid == cycle_id and target == CycleStatus.closed:
            await close_updating.arrive(session)  # does not pause: it is the UPDATE that waits
        return await real_transition(session, cid, source, target, now)

    monkeypatch.setattr(order_service, "gate", locked_then_pause)
    monkeypatch.setattr(cycles, "transition", transition_spy)

    tasks: list[asyncio.Task[httpx.Response]] = []
    try:
        order_task = asyncio.create_task(m.order("7"))
        tasks.append(order_task)
        order_pid = await order_locked.wait_reached()

        close_task = asyncio.create_task(close(m))
        tasks.append(close_task)
        close_pid = await close_updating.wait_reached()
        await wait_until_blocked(app, waiter=close_pid, holder=order_pid)
        assert await still_running(close_task), "the close finished while an order held its lock"
        assert not order_task.done()

        order_locked.release.set()
        placed, closed = await asyncio.wait_for(asyncio.gather(order_task, close_task), STEP)
    finally:
        await settle(tasks, [order_locked, close_updating])

    assert (order_locked.calls, close_updating.calls) == (1, 1)
    assert placed.status_code == 201, placed.text
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert demand(closed.json(), m) == "11.000"
    await assert_aggregated(m, placed.json()["id"], "7.000")
    await assert_aggregated(m, first.json()["id"], "4.000")
    assert await allocated(m) == 11
    assert (await m.availability())["reserved"] == "11.000"


@pytest.mark.postgres
@on_postgresql
async def test_an_order_after_the_close_updated_the_cycle_waits_and_is_refused(
    market: Market, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """B: the close has updated the cycle row (not committed yet) when the order starts. The
    order's shared lock waits for the close's commit, then sees the cycle closed: 409."""
    m = market
    assert app.state.engine.dialect.name == "postgresql"
    cycle_id = m.cycle["id"]
    first = await m.order("4")
    assert first.status_code == 201, first.text

    close_updated = Pause("app.orders.cycles.transition(open -> closed), in close_cycle()")
    order_locking = Pause("app.orders.service.gate, in place_on_terms()")
    moved: list[bool] = []
    seen: list[str] = []
    real_gate = order_service.gate
    real_transition = cycles.transition

    async def transition_then_pause(
        session: AsyncSession,
        cid: str,
        source: CycleStatus,
        target: CycleStatus,
        now: datetime,
    ) -> bool:
        result = await real_transition(session, cid, source, target, now)
        if cid == cycle_id and target == CycleStatus.closed:
            moved.append(result)
            await close_updated.arrive(session)
            await close_updated.release.wait()
        return result

    async def locked_spy(
        conn: AsyncConnection, cid: str, buyer_id: str
    ) -> order_service.Gate | None:
        if cid == cycle_id:
            await order_locking.arrive(conn)  # does not pause: it is the lock that waits
        cycle = await real_gate(conn, cid, buyer_id)
        assert cycle is not None
        seen.append(cycle.status)
        return cycle

    monkeypatch.setattr(cycles, "transition", transition_then_pause)
    monkeypatch.setattr(order_service, "gate", locked_spy)

    tasks: list[asyncio.Task[httpx.Response]] = []
    try:
        close_task = asyncio.create_task(close(m))
        tasks.append(close_task)
        close_pid = await close_updated.wait_reached()
        assert moved == [True], "the close's UPDATE did not move the cycle"

        order_task = asyncio.create_task(m.order("7"))
        tasks.append(order_task)
        order_pid = await order_locking.wait_reached()
        await wait_until_blocked(app, waiter=order_pid, holder=close_pid)
        assert await still_running(order_task), "the order went past an uncommitted close"
        assert not close_task.done()

        close_updated.release.set()
        refused, closed = await asyncio.wait_for(asyncio.gather(order_task, close_task), STEP)
    finally:
        await settle(tasks, [close_updated, order_locking])

    assert (close_updated.calls, order_locking.calls) == (1, 1)
    assert seen == [CycleStatus.closed], "the order's lock should re-read the closed cycle"
    await assert_before_the_cut_off(m)
    assert_problem(refused, 409, "cycle_not_open")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert demand(closed.json(), m) == "4.000"
    await assert_aggregated(m, first.json()["id"], "4.000")
    assert await allocated(m) == 4
    assert (await m.availability())["reserved"] == "4.000"
    assert [o["id"] for o in await cycle_orders(m)] == [first.json()["id"]]

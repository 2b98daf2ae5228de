"""Cycles: dates judged in the network's time zone, opening and closing by themselves."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI

from app.core.timeutil import utcnow
from app.orders import cycles
from app.orders.scheduler import tick
from tests.orders.conftest import Market
from tests.utils import assert_problem


async def test_naive_times_are_read_in_the_network_time_zone(market: Market) -> None:
    local_now = utcnow().astimezone(ZoneInfo("America/Guayaquil")).replace(tzinfo=None)
    # 2 hours ahead in Guayaquil (UTC-5) is 3 hours ago in UTC: only a zone-aware reading
    # keeps this cycle open.
    cycle = await market.new_cycle(
        opens_at=(local_now - timedelta(hours=1)).isoformat(),
        closes_at=(local_now + timedelta(hours=2)).isoformat(),
    )
    assert cycle["status"] == "open"
    assert cycle["timezone"] == "America/Guayaquil"
    closes = datetime.fromisoformat(cycle["closes_at"])
    assert abs((utcnow() + timedelta(hours=2) - closes).total_seconds()) < 60
    await market.offer(
        cycle["id"], market.net.association["id"], "10", market.net.association_staff
    )
    market.cycle = cycle
    assert (await market.order("2")).status_code == 201

    past = await market.new_cycle(
        opens_at=(local_now - timedelta(hours=3)).isoformat(),
        closes_at=(local_now - timedelta(minutes=1)).isoformat(),
    )
    market.cycle = past
    assert_problem(await market.order("1"), 409, "cycle_not_open")


async def test_cycle_validation(market: Market) -> None:
    now = utcnow()
    body = {
        "network_id": market.net.network["id"],
        "collection_centre_id": market.buyer["id"],
        "opens_at": (now + timedelta(hours=2)).isoformat(),
        "closes_at": (now + timedelta(hours=1)).isoformat(),
        # two days back: one day back is still today in Guayaquil between 00:00 and 05:00 UTC
        "delivery_date": (now - timedelta(days=2)).date().isoformat(),
    }
    r = await market.client.post("/api/v1/cycles", json=body, headers=market.net.admin)
    problem = assert_problem(r, 422, "invalid_cycle")
    assert {e["field"] for e in problem["errors"]} == {
        "collection_centre_id",
        "closes_at",
        "delivery_date",
    }
    r = await market.client.post(
        "/api/v1/cycles",
        json={**body, "collection_centre_id": market.centre["id"]},
        headers=market.net.staff,
    )
    assert_problem(r, 403, "insufficient_role")


async def test_a_scheduled_cycle_takes_offers_but_no_orders(market: Market) -> None:
    later = utcnow() + timedelta(days=1)
    cycle = await market.new_cycle(
        opens_at=later.isoformat(), closes_at=(later + timedelta(days=1)).isoformat()
    )
    assert cycle["status"] == "scheduled"
    await market.offer(
        cycle["id"], market.net.association["id"], "10", market.net.association_staff
    )
    market.cycle = cycle
    assert_problem(await market.order("1"), 409, "cycle_not_open")


async def test_the_scheduler_opens_and_closes_exactly_once(market: Market, app: FastAPI) -> None:
    start = utcnow() + timedelta(days=1)
    cycle = await market.new_cycle(
        opens_at=start.isoformat(), closes_at=(start + timedelta(hours=5)).isoformat()
    )
    sm, settings = app.state.sessionmaker, app.state.settings
    assert (await tick(sm, settings, utcnow())).opened == []
    first = await tick(sm, settings, start + timedelta(minutes=1))
    assert cycle["id"] in first.opened
    again = await tick(sm, settings, start + timedelta(minutes=2))
    assert cycle["id"] not in again.opened
    closed = await tick(sm, settings, start + timedelta(hours=6))
    assert cycle["id"] in closed.closed
    assert (await tick(sm, settings, start + timedelta(hours=7))).closed == []
    r = await market.client.get(f"/api/v1/cycles/{cycle['id']}", headers=market.buyer_staff)
    assert r.json()["status"] == "closed"
    assert r.json()["opened_at"]
    assert r.json()["closed_at"]


async def test_a_cut_off_with_nothing_wired_to_close_fails_loudly(
    market: Market, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Closing without aggregating would lose every order of the cycle: refuse instead."""
    start = utcnow() + timedelta(days=1)
    cycle = await market.new_cycle(
        opens_at=start.isoformat(), closes_at=(start + timedelta(hours=5)).isoformat()
    )
    sm, settings = app.state.sessionmaker, app.state.settings
    assert cycle["id"] in (await tick(sm, settings, start + timedelta(minutes=1))).opened
    monkeypatch.setattr(cycles.hooks, "closer", None)
    result = await tick(sm, settings, start + timedelta(hours=6))
    assert cycle["id"] in result.failed
    assert cycle["id"] not in result.closed
    r = await market.client.get(f"/api/v1/cycles/{cycle['id']}", headers=market.buyer_staff)
    assert r.json()["status"] == "open"
    monkeypatch.undo()
    assert cycle["id"] in (await tick(sm, settings, start + timedelta(hours=6))).closed

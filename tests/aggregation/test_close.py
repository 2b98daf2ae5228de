"""Closing a cycle through the API: allocations, final prices, delivery orders, idempotency."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from fastapi import FastAPI

from app.core.timeutil import utcnow
from app.orders.scheduler import tick
from tests.brands.conftest import net  # noqa: F401
from tests.orders.conftest import Market, market  # noqa: F401 - fixtures these tests build on
from tests.utils import assert_problem


async def _close(m: Market, key: str | None = None) -> dict[str, Any]:
    headers = dict(m.net.admin)
    if key:
        headers["Idempotency-Key"] = key
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/close", headers=headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_close_allocates_prices_and_writes_delivery_orders(market: Market) -> None:  # noqa: F811
    m = market
    first = (await m.order("10")).json()
    pinned = (
        await m.order(
            lines=[
                {"sku_id": m.sku["id"], "quantity": "6", "preferred_association_id": m.second["id"]}
            ]
        )
    ).json()
    result = await _close(m, key="close-1")
    assert result["status"] == "closed"
    assert result["skus"] == [
        {
            "sku_id": m.sku["id"],
            "sku_name": m.sku["name"],
            "demand": "16.000",
            "final_unit_price_cents": 400,
        }
    ]
    allocations = (
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/allocations", headers=m.net.admin)
    ).json()
    by_association = {a["association_id"]: Decimal(a["quantity"]) for a in allocations}
    assert sum(by_association.values()) == 16
    # the 6 pinned to the second association first, then the pool of 10 in proportion to
    # what is left of the offers (30 and 14): 7 and 3 by largest remainder
    assert by_association == {m.net.association["id"]: 7, m.second["id"]: 9}
    pinned_row = next(a for a in allocations if a["association_id"] == m.second["id"])
    assert pinned_row["pinned"] == "6.000"

    delivery = (
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/delivery-orders", headers=m.net.admin)
    ).json()
    assert {d["association_id"] for d in delivery} == set(by_association)
    for d in delivery:
        [line] = d["lines"]
        assert Decimal(line["quantity"]) == by_association[d["association_id"]]
        assert line["producer_price_cents"] == 250

    # an association sees its own allocation and delivery order only
    mine = (
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/allocations", headers=m.second_staff)
    ).json()
    assert {a["association_id"] for a in mine} == {m.second["id"]}
    mine = (
        await m.client.get(
            f"/api/v1/cycles/{m.cycle['id']}/delivery-orders", headers=m.second_staff
        )
    ).json()
    assert [d["association_id"] for d in mine] == [m.second["id"]]

    order = (await m.client.get(f"/api/v1/orders/{first['id']}", headers=m.buyer_staff)).json()
    assert order["status"] == "confirmed"
    assert order["lines"][0]["confirmed_quantity"] == "10.000"
    assert order["lines"][0]["final_unit_price_cents"] == 400
    assert order["final_total_cents"] == 4000
    assert pinned["id"]

    # closing again, with or without the key, changes nothing
    assert await _close(m, key="close-1") == result
    assert await _close(m) == result
    again = (
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/allocations", headers=m.net.admin)
    ).json()
    assert again == allocations
    assert_problem(await m.order("1"), 409, "cycle_not_open")


async def test_the_tier_reached_lowers_every_line(market: Market) -> None:  # noqa: F811
    m = market
    r = await m.client.patch(
        f"/api/v1/cycles/{m.cycle['id']}/offers/{m.offers['first']['id']}",
        json={"quantity": "200"},
        headers=m.net.association_staff,
    )
    assert r.status_code == 200
    early = (await m.order("10")).json()
    assert early["lines"][0]["unit_price_cents"] == 400
    late = (await m.order("95")).json()
    assert late["lines"][0]["unit_price_cents"] == 360  # 105 reached the 100 tier
    result = await _close(m)
    assert result["skus"][0]["final_unit_price_cents"] == 360
    for order_id in (early["id"], late["id"]):
        order = (await m.client.get(f"/api/v1/orders/{order_id}", headers=m.buyer_staff)).json()
        assert order["lines"][0]["final_unit_price_cents"] == 360
    early_final = (
        await m.client.get(f"/api/v1/orders/{early['id']}", headers=m.buyer_staff)
    ).json()
    assert early_final["final_total_cents"] == 3600


async def test_only_the_network_admin_closes(market: Market) -> None:  # noqa: F811
    m = market
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/close", headers=m.net.staff)
    assert_problem(r, 403, "insufficient_role")
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/close", headers=m.buyer_staff)
    assert_problem(r, 404, "cycle_not_found")
    later = utcnow() + timedelta(days=1)
    scheduled = await m.new_cycle(
        opens_at=later.isoformat(), closes_at=(later + timedelta(hours=1)).isoformat()
    )
    r = await m.client.post(f"/api/v1/cycles/{scheduled['id']}/close", headers=m.net.admin)
    assert_problem(r, 409, "cycle_not_open")


async def test_the_cut_off_closes_and_aggregates_by_itself(market: Market, app: FastAPI) -> None:  # noqa: F811
    m = market
    await m.order("7")
    cycle = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}", headers=m.net.admin)
    closes_at = datetime.fromisoformat(cycle.json()["closes_at"])
    done = await tick(app.state.sessionmaker, app.state.settings, closes_at + timedelta(seconds=1))
    assert m.cycle["id"] in done.closed
    allocations = (
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/allocations", headers=m.net.admin)
    ).json()
    assert sum(Decimal(a["quantity"]) for a in allocations) == 7


async def test_closing_again_after_a_shortfall_answers_what_the_first_close_did(
    market: Market,  # noqa: F811
) -> None:
    """Found by the ledger state machine: packing cuts the lines' confirmed quantities, and
    the second close answered the cut demand (0) instead of the demand it closed on."""
    m = market
    assert (await m.order("1")).status_code == 201
    url = f"/api/v1/cycles/{m.cycle['id']}/close"
    first = await m.client.post(url, headers=m.net.admin)
    assert first.status_code == 200, first.text
    _, staff = await m.api.member(m.centre["id"], role="staff")
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/shipments", headers=staff)
    assert r.status_code == 200, r.text  # nothing received: the line is cut to 0
    again = await m.client.post(url, headers=m.net.admin)
    assert again.status_code == 200, again.text
    assert again.json()["skus"] == first.json()["skus"]
    assert first.json()["skus"][0]["demand"] == "1.000"

"""Standing orders place themselves into each new cycle of the network, skipping what
cannot be supplied and telling the buyer which lines."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from app.core.timeutil import utcnow
from app.orders.scheduler import tick
from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.orders.conftest import Market, market  # noqa: F401
from tests.utils import assert_problem


async def test_standing_orders_appear_in_a_new_cycle(market: Market, app: FastAPI) -> None:  # noqa: F811
    m = market
    eggs = await m.net.sku(name="Huevos de gallinas felices", category="eggs", unit="dozen")
    r = await m.client.post(
        "/api/v1/standing-orders",
        json={
            "buyer_id": m.buyer["id"],
            "network_id": m.net.network["id"],
            "lines": [
                {"sku_id": m.sku["id"], "quantity": "8"},
                {"sku_id": eggs["id"], "quantity": "3"},
            ],
            "payment_method": "invoice",
        },
        headers=m.buyer_staff,
    )
    assert r.status_code == 201, r.text
    standing = r.json()
    assert standing["active"] is True

    start = utcnow() + timedelta(days=1)
    cycle = await m.new_cycle(
        opens_at=start.isoformat(), closes_at=(start + timedelta(days=1)).isoformat()
    )
    # offers go in before the cycle opens, so standing orders find supply when it does
    await m.offer(cycle["id"], m.net.association["id"], "10", m.net.association_staff)
    done = await tick(app.state.sessionmaker, app.state.settings, start + timedelta(minutes=1))
    assert cycle["id"] in done.opened

    r = await m.client.get(f"/api/v1/standing-orders/{standing['id']}", headers=m.buyer_staff)
    [run] = r.json()["runs"]
    assert run["cycle_id"] == cycle["id"]
    assert run["order_id"]
    assert run["skipped"] == [
        {"sku_id": eggs["id"], "quantity": "3.000", "reason": "not offered in this cycle"}
    ]
    order = (await m.client.get(f"/api/v1/orders/{run['order_id']}", headers=m.buyer_staff)).json()
    assert order["standing_order_id"] == standing["id"]
    assert [(line["sku_id"], line["quantity"]) for line in order["lines"]] == [
        (m.sku["id"], "8.000")
    ]
    assert (await m.availability(cycle["id"]))["reserved"] == "8.000"

    # placed once per cycle, however often the scheduler ticks
    await tick(app.state.sessionmaker, app.state.settings, start + timedelta(minutes=2))
    r = await m.client.get(f"/api/v1/standing-orders/{standing['id']}", headers=m.buyer_staff)
    assert len(r.json()["runs"]) == 1

    # stopped standing orders place nothing
    r = await m.client.post(f"/api/v1/standing-orders/{standing['id']}/stop", headers=m.buyer_staff)
    assert r.json()["active"] is False
    later = start + timedelta(days=3)
    third = await m.new_cycle(
        opens_at=later.isoformat(), closes_at=(later + timedelta(days=1)).isoformat()
    )
    await m.offer(third["id"], m.net.association["id"], "10", m.net.association_staff)
    await tick(app.state.sessionmaker, app.state.settings, later + timedelta(minutes=1))
    r = await m.client.get(f"/api/v1/standing-orders/{standing['id']}", headers=m.buyer_staff)
    assert len(r.json()["runs"]) == 1


async def test_standing_orders_belong_to_their_buyer(market: Market) -> None:  # noqa: F811
    m = market
    other = await m.api.organization("buyer")
    _, other_staff = await m.api.member(other["id"])
    body = {
        "buyer_id": m.buyer["id"],
        "network_id": m.net.network["id"],
        "lines": [{"sku_id": m.sku["id"], "quantity": "1"}],
        "payment_method": "invoice",
    }
    r = await m.client.post("/api/v1/standing-orders", json=body, headers=other_staff)
    assert_problem(r, 404, "organization_not_found")
    r = await m.client.post(
        "/api/v1/standing-orders",
        json={**body, "lines": [{"sku_id": "nope", "quantity": "1"}]},
        headers=m.buyer_staff,
    )
    assert_problem(r, 422, "invalid_order")
    created = (
        await m.client.post("/api/v1/standing-orders", json=body, headers=m.buyer_staff)
    ).json()
    r = await m.client.get(f"/api/v1/standing-orders/{created['id']}", headers=other_staff)
    assert_problem(r, 404, "standing_order_not_found")


async def test_the_catalogue_with_a_cycle_shows_availability(market: Market) -> None:  # noqa: F811
    m = market
    await m.order("20")
    r = await m.client.get(
        "/api/v1/skus", params={"cycle_id": m.cycle["id"]}, headers=m.buyer_staff
    )
    [sku] = r.json()["items"]
    assert sku["available_quantity"] == "30.000"
    assert sku["current_unit_price_cents"] == 400
    other = await m.net.sku(name="Queso maduro")
    r = await m.client.get(
        "/api/v1/skus", params={"cycle_id": m.cycle["id"]}, headers=m.buyer_staff
    )
    by_id = {s["id"]: s for s in r.json()["items"]}
    assert by_id[other["id"]]["available_quantity"] == "0.000"
    r = await m.client.get("/api/v1/skus", headers=m.buyer_staff)
    assert all(s["available_quantity"] is None for s in r.json()["items"])
    r = await m.client.get("/api/v1/skus", params={"cycle_id": "nope"}, headers=m.buyer_staff)
    assert_problem(r, 404, "cycle_not_found")

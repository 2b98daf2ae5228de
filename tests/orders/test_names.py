"""Names beside ids (issue 12) in what a buyer and a network read before the close: cycles,
offers, availability, orders and their lines; an orders page in constant queries."""

from __future__ import annotations

import httpx
from fastapi import FastAPI

from tests.fulfilment.full_cycle import ordered
from tests.orders.conftest import Market
from tests.utils.queries import statements_per_page


async def test_cycles_offers_and_availability_show_names(market: Market) -> None:
    m = market
    cycle_url = f"/api/v1/cycles/{m.cycle['id']}"
    assert m.cycle["network_name"] == m.net.network["name"] == "Red Agroecológica de Cotopaxi"
    assert m.cycle["collection_centre_name"] == "Centro de acopio Latacunga"
    r = await m.client.get(cycle_url, headers=m.buyer_staff)
    assert r.json()["network_name"] == "Red Agroecológica de Cotopaxi"
    r = await m.client.get(
        "/api/v1/cycles", params={"network_id": m.net.network["id"]}, headers=m.buyer_staff
    )
    [listed] = r.json()["items"]
    assert listed["collection_centre_name"] == "Centro de acopio Latacunga"

    first = m.offers["first"]
    assert first["sku_name"] == "Queso fresco Sabores de Cotopaxi 500 g"
    assert (first["association_name"], first["parish"]) == (
        "Asociación Sabores de Mulaló",
        "Mulaló",
    )
    r = await m.client.get(f"{cycle_url}/offers", headers=m.net.admin)
    by_association = {o["association_id"]: o for o in r.json()}
    second = by_association[m.second["id"]]
    assert (second["association_name"], second["parish"]) == (
        "Asociación Nueva Esperanza",
        "Pujilí",
    )
    assert second["sku_id"] == m.sku["id"]  # the ids stay
    r = await m.client.patch(
        f"{cycle_url}/offers/{second['id']}", json={"quantity": "25"}, headers=m.second_staff
    )
    assert r.status_code == 200, r.text
    assert r.json()["association_name"] == "Asociación Nueva Esperanza"

    row = await m.availability()
    assert row["sku_name"] == "Queso fresco Sabores de Cotopaxi 500 g"


async def test_orders_and_their_lines_show_names(market: Market) -> None:
    m = market
    day = await ordered(m, buyers=2)
    pinned = day.orders[0]
    assert pinned["buyer_name"] == "Restaurante La Cuchara de Palo"
    [line] = pinned["lines"]
    assert line["sku_id"] == m.sku["id"]
    assert line["sku_name"] == m.sku["name"]
    assert line["preferred_association_id"] == m.second["id"]
    assert line["preferred_association_name"] == "Asociación Nueva Esperanza"
    [unpinned] = day.orders[1]["lines"]
    assert unpinned["preferred_association_id"] is None
    assert unpinned["preferred_association_name"] is None

    # the same names when read back, changed, listed, and after the close
    staff = day.staff[pinned["buyer_id"]]
    r = await m.client.get(f"/api/v1/orders/{pinned['id']}", headers=staff)
    assert r.json()["buyer_name"] == "Restaurante La Cuchara de Palo"
    r = await m.client.patch(
        f"/api/v1/orders/{pinned['id']}",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": "6"}]},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    assert r.json()["buyer_name"] == "Restaurante La Cuchara de Palo"
    assert r.json()["lines"][0]["sku_name"] == m.sku["name"]
    await day.floor.close()
    r = await m.client.get(
        "/api/v1/orders", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
    )
    names = {o["buyer_name"] for o in r.json()["items"]}
    assert names == {"Restaurante La Cuchara de Palo", "Cafetería El Molino"}
    assert all(o["lines"][0]["confirmed_quantity"] for o in r.json()["items"])


async def test_a_page_of_orders_costs_the_same_queries_whatever_its_size(
    market: Market, app: FastAPI
) -> None:
    m = market
    await ordered(m)

    async def page(limit: int) -> httpx.Response:
        return await m.client.get(
            "/api/v1/orders",
            params={"cycle_id": m.cycle["id"], "limit": limit},
            headers=m.net.admin,
        )

    counts = await statements_per_page(app, page, (1, 5))
    assert counts[1] == counts[5], counts
    r = await page(5)
    assert all(o["buyer_name"] and o["lines"][0]["sku_name"] for o in r.json()["items"])

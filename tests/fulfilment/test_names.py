"""Names beside ids (issue 12) at the collection centre: allocations, delivery orders,
receipts, shipments and route stops (a driver sees whom to deliver to, where and how to
call), a shipments page in constant queries, and the organisations centre staff may read."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI

from tests.fulfilment.full_cycle import BUYERS, ordered, routed
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market
from tests.utils import assert_problem
from tests.utils.queries import statements_per_page

CENTRE = "Centro de acopio Latacunga"
SKU = "Queso fresco Sabores de Cotopaxi 500 g"
ASSOCIATIONS = {"Asociación Sabores de Mulaló": "Mulaló", "Asociación Nueva Esperanza": "Pujilí"}


async def _product_names(m: Market, ids: set[str]) -> dict[str, str]:
    out = {}
    for product_id in ids:
        r = await m.client.get(f"/api/v1/products/{product_id}", headers=m.net.admin)
        assert r.status_code == 200, r.text
        out[product_id] = r.json()["name"]
    return out


async def test_allocations_delivery_orders_and_receipts_show_names(market: Market) -> None:
    m = market
    day = await ordered(m, buyers=2)
    f = day.floor
    await f.close()
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/allocations", headers=m.net.admin)
    allocations = r.json()
    assert {a["association_name"]: a["parish"] for a in allocations} == ASSOCIATIONS
    products = await _product_names(m, {a["product_id"] for a in allocations})
    for a in allocations:
        assert a["sku_name"] == SKU
        assert a["product_name"] == products[a["product_id"]] == "Queso fresco de Mulaló"
    # an association sees its own allocation, with its name
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/allocations", headers=m.second_staff)
    [own] = r.json()
    assert own["association_name"] == "Asociación Nueva Esperanza"

    for association_id, delivery in f.delivery_orders.items():  # as the centre listed them
        assert ASSOCIATIONS[delivery["association_name"]] == delivery["parish"]
        assert delivery["collection_centre_name"] == CENTRE
        [line] = delivery["lines"]
        assert (line["sku_name"], line["product_name"]) == (SKU, "Queso fresco de Mulaló")
        receipt = await f.received(association_id, f.allocated(association_id))
        assert receipt["association_id"] == association_id
        assert receipt["association_name"] == delivery["association_name"]
        assert receipt["parish"] == delivery["parish"]
        assert receipt["collection_centre_name"] == CENTRE
        [lot] = receipt["lines"]
        assert (lot["sku_name"], lot["product_name"]) == (SKU, "Queso fresco de Mulaló")
        view = await f.delivery_order(association_id)
        assert view["association_name"] == delivery["association_name"]
        assert view["collection_centre_name"] == CENTRE
        assert view["lines"][0]["sku_name"] == SKU
        assert view["lines"][0]["product_name"] == "Queso fresco de Mulaló"
        assert view["receipts"][0]["lines"][0]["sku_name"] == SKU


async def test_shipments_and_route_stops_show_whom_to_deliver_to(market: Market) -> None:
    m = market
    day = await routed(m)
    f = day.floor
    contact = {name: (parish, address) for name, parish, address in BUYERS}
    assert {s["buyer_name"] for s in day.shipments} == set(contact)
    for s in day.shipments:
        assert s["parish"] == contact[s["buyer_name"]][0]
        assert s["collection_centre_name"] == CENTRE
        assert [line["sku_name"] for line in s["lines"]] == [SKU]

    r = await f.client.get(f"/api/v1/cycles/{m.cycle['id']}/shipments", headers=f.staff)
    assert {s["buyer_name"] for s in r.json()["items"]} == set(contact)
    shipment = day.shipments[0]
    buyer = day.buyer(shipment["buyer_id"])
    r = await f.client.get(f"/api/v1/shipments/{shipment['id']}", headers=day.staff[buyer["id"]])
    assert r.json()["buyer_name"] == buyer["name"]

    [route] = day.plan["routes"]
    assert route["vehicle_name"] == "Furgón frío Hino"
    assert len(route["stops"]) == len(BUYERS)
    for stop in route["stops"]:
        buyer = day.buyer(stop["buyer_id"])
        assert stop["buyer_name"] == buyer["name"]
        assert (stop["parish"], stop["address"]) == contact[buyer["name"]]
        assert stop["phone"] == buyer["phone"]
        assert stop["phone"].startswith("+593 3 281 ")
        assert stop["delivery_notes"] == buyer["delivery_notes"]
        assert stop["delivery_notes"].startswith("Entrada por la cocina")
    r = await f.client.get(f"/api/v1/cycles/{m.cycle['id']}/routes", headers=f.staff)
    assert r.json()["routes"] == day.plan["routes"]
    r = await f.client.get(f"/api/v1/cycles/{m.cycle['id']}/routes.geojson", headers=f.staff)
    stops = [x["properties"] for x in r.json()["features"] if x["properties"]["kind"] == "stop"]
    assert {s["buyer_name"] for s in stops} == set(contact)

    r = await f.client.post(
        f"/api/v1/shipments/{shipment['id']}/deliver",
        json={
            "received_by": "Rosa Chiluisa",
            "returns": [{"sku_id": m.sku["id"], "quantity": "1", "reason": "queso golpeado"}],
        },
        headers=f.staff,
    )
    assert r.status_code == 200, r.text
    assert r.json()["buyer_name"] == day.buyer(shipment["buyer_id"])["name"]
    assert r.json()["returns"][0]["sku_name"] == SKU


async def test_a_page_of_shipments_costs_the_same_queries_whatever_its_size(
    market: Market, app: FastAPI
) -> None:
    m = market
    day = await ordered(m)
    f = day.floor
    await f.close()
    await f.receive_all()
    await f.build()

    async def page(limit: int) -> httpx.Response:
        return await f.client.get(
            f"/api/v1/cycles/{m.cycle['id']}/shipments",
            params={"limit": limit},
            headers=f.staff,
        )

    counts = await statements_per_page(app, page, (1, 5))
    assert counts[1] == counts[5], counts


async def _organization(f: Floor, org_id: str, headers: dict[str, str]) -> httpx.Response:
    return await f.client.get(f"/api/v1/organizations/{org_id}", headers=headers)


async def test_centre_staff_read_the_organisations_they_serve_and_no_other(
    market: Market,
) -> None:
    m = market
    f = await Floor.start(m)
    stranger, _ = await f.buyer("Restaurante de otra red", address="Calle Quito 1")
    buyer, buyer_staff = await f.buyer(
        "Restaurante La Cuchara de Palo",
        address="Av. Amazonas 12-40 y Quito",
        phone="+593 3 281 0000",
        delivery_notes="Entrada por la cocina",
    )
    association = m.net.association["id"]

    # before anything links them to the centre: as unknown as an id that does not exist
    for org_id in (buyer["id"], association, stranger["id"]):
        assert_problem(await _organization(f, org_id, f.staff), 404, "organization_not_found")
    await f.order("4", buyer=buyer, headers=buyer_staff)
    r = await _organization(f, buyer["id"], f.staff)
    assert r.status_code == 200, r.text
    seen: dict[str, Any] = r.json()
    assert (seen["name"], seen["parish"]) == ("Restaurante La Cuchara de Palo", "Mulaló")
    assert seen["address"] == "Av. Amazonas 12-40 y Quito"
    assert seen["phone"] == "+593 3 281 0000"
    assert seen["delivery_notes"] == "Entrada por la cocina"
    # the association is served once it has a delivery order to the centre
    assert_problem(await _organization(f, association, f.admin), 404, "organization_not_found")
    await f.close()
    r = await _organization(f, association, f.admin)
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Asociación Sabores de Mulaló"

    # neither another centre's staff nor this centre for organisations it does not serve
    for org_id in (buyer["id"], association):
        r = await _organization(f, org_id, f.other_centre_staff)
        assert_problem(r, 404, "organization_not_found")
    assert_problem(await _organization(f, stranger["id"], f.staff), 404, "organization_not_found")
    r = await f.client.get("/api/v1/organizations", params={"limit": 200}, headers=f.staff)
    listed = {o["id"] for o in r.json()["items"]}
    assert {buyer["id"], association, m.second["id"], m.centre["id"]} <= listed
    assert stranger["id"] not in listed
    assert m.buyer["id"] not in listed  # the market's own buyer has ordered nothing
    # the buyer itself sees nothing of the centre's other buyers
    assert_problem(
        await _organization(f, stranger["id"], buyer_staff), 404, "organization_not_found"
    )

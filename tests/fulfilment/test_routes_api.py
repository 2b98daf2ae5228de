"""Vehicles, delivery windows and the route plan through the API: cold chain, capacity,
windows, kilometres saved, the stored plan, GeoJSON, and road distances from OSRM."""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI

from tests.fulfilment.fake_osrm import FakeOsrm, road_m
from tests.fulfilment.helpers import Floor
from tests.utils import assert_problem

LATACUNGA = {"latitude": -0.929, "longitude": -78.608, "parish": "La Matriz"}
SALCEDO = {"latitude": -1.045, "longitude": -78.590, "parish": "San Miguel"}


async def _vehicle(f: Floor, **body: Any) -> dict[str, Any]:
    r = await f.client.post(
        f"/api/v1/collection-centres/{f.m.centre['id']}/vehicles", json=body, headers=f.admin
    )
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def _day(f: Floor) -> dict[str, Any]:
    """Two buyers: a small chilled order with a morning window, and one too heavy for the
    only chilled vehicle; a dry van and a small cold van."""
    small, _ = await f.buyer("Restaurante Los Copihues", **LATACUNGA)
    _, small_admin = await f.api.member(small["id"], role="admin")
    big, big_staff = await f.buyer("Supermercado Salcedo", **SALCEDO)
    await f.order("4", buyer=small, headers=small_admin)  # 2 kg
    await f.order("40", buyer=big, headers=big_staff)  # 20 kg
    r = await f.client.put(
        f"/api/v1/buyers/{small['id']}/delivery-window",
        json={"opens": "07:00", "closes": "11:00", "service_minutes": 15},
        headers=small_admin,
    )
    assert r.status_code == 200, r.text
    await f.close()
    await f.receive_all()
    shipments = {s["buyer_id"]: s for s in await f.build()}
    dry = await _vehicle(f, name="Camioneta", capacity_kg="500", chilled=False)
    cold = await _vehicle(
        f,
        name="Furgón frío",
        capacity_kg="10",
        chilled=True,
        shift_start="05:00",
        shift_end="15:00",
    )
    return {"small": small, "big": big, "shipments": shipments, "dry": dry, "cold": cold}


async def test_cold_chain_capacity_and_windows(floor: Floor) -> None:
    f = floor
    day = await _day(f)
    url = f"/api/v1/cycles/{f.m.cycle['id']}/routes"
    assert_problem(await f.client.get(url, headers=f.staff), 404, "route_plan_not_found")
    r = await f.client.post(url, headers=f.staff)
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["matrix_source"] == "estimate"
    # the chilled shipment rides the cold van, never the dry one
    [route] = plan["routes"]
    assert route["vehicle_id"] == day["cold"]["id"]
    assert route["chilled"] is True
    [stop] = route["stops"]
    assert stop["shipment_id"] == day["shipments"][day["small"]["id"]]["id"]
    assert stop["load_kg"] == "2.000"
    # the heavy chilled shipment fits no chilled vehicle
    assert plan["unassigned"] == [
        {
            "shipment_id": day["shipments"][day["big"]["id"]]["id"],
            "buyer_id": day["big"]["id"],
            "buyer_name": day["big"]["name"],
            "reason": "over_capacity",
        }
    ]
    # the ETA is on the delivery day, in the network's time zone, inside the window
    eta = datetime.fromisoformat(stop["eta"])
    zone = ZoneInfo(f.m.cycle["timezone"])
    local = eta.astimezone(zone)
    assert local.date().isoformat() == f.m.cycle["delivery_date"]
    assert time(7) <= local.time() <= time(11)
    assert eta.utcoffset() == local.utcoffset()
    # kilometres: routes plus the associations' trips; direct delivery for comparison
    assert plan["distance_km"] == pytest.approx(plan["routed_km"] + plan["legs_to_centre_km"])
    assert plan["routed_km"] == route["distance_km"] > 0
    assert plan["direct_delivery_km"] > 0

    # stored: the network reads it too; planning again replaces it
    for headers in (f.staff, f.m.net.admin):
        r = await f.client.get(url, headers=headers)
        assert r.status_code == 200
        assert r.json() == plan
    r = await f.client.post(url, headers=f.staff)

    def same(routes: list[dict[str, Any]]) -> list[dict[str, Any]]:  # new rows, new ids
        return [{k: v for k, v in route.items() if k != "id"} for route in routes]

    assert same(r.json()["routes"]) == same(plan["routes"])
    assert {x["id"] for x in r.json()["routes"]}.isdisjoint(x["id"] for x in plan["routes"])
    r = await f.client.get(f"{url}.geojson", headers=f.staff)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    geo = r.json()
    assert geo["type"] == "FeatureCollection"
    kinds = [feature["properties"]["kind"] for feature in geo["features"]]
    assert kinds == ["depot", "route", "stop"]
    line = geo["features"][1]["geometry"]
    assert line["type"] == "LineString"
    assert line["coordinates"][1] == [LATACUNGA["longitude"], LATACUNGA["latitude"]]
    assert line["coordinates"][0] == line["coordinates"][-1]


async def test_routes_need_shipments_and_the_centre(floor: Floor) -> None:
    f = floor
    await f.order("4")
    await f.close()
    url = f"/api/v1/cycles/{f.m.cycle['id']}/routes"
    assert_problem(await f.client.post(url, headers=f.staff), 409, "shipments_not_built")
    assert_problem(await f.client.post(url, headers=f.m.buyer_staff), 403, "centre_staff_required")
    r = await f.client.post(url, headers=f.other_centre_staff)
    assert_problem(r, 403, "centre_staff_required")
    r = await f.client.get(url, headers=f.m.buyer_staff)
    assert_problem(r, 403, "centre_staff_required")
    await f.receive_all()
    await f.build()
    r = await f.client.post(url, headers=f.staff)  # no vehicle yet
    assert r.status_code == 200
    assert [u["reason"] for u in r.json()["unassigned"]] == ["no_vehicle"]


async def test_road_distances_from_osrm(floor: Floor, app: FastAPI) -> None:
    f = floor
    day = await _day(f)
    url = f"/api/v1/cycles/{f.m.cycle['id']}/routes"
    settings = app.state.settings
    try:
        with FakeOsrm() as osrm:
            app.state.settings = settings.model_copy(update={"osrm_url": osrm.base_url})
            r = await f.client.post(url, headers=f.staff)
            assert r.status_code == 200, r.text
            assert len(osrm.requests) == 1  # one table: the centre, buyers and associations
        plan = r.json()
        with FakeOsrm(mode="http_500") as down:
            app.state.settings = settings.model_copy(update={"osrm_url": down.base_url})
            failed = await f.client.post(url, headers=f.staff)
    finally:
        app.state.settings = settings
    assert plan["matrix_source"] == "osrm"
    centre = (f.m.centre["longitude"], f.m.centre["latitude"])
    there = (LATACUNGA["longitude"], LATACUNGA["latitude"])
    metres = round(road_m(centre, there)) + round(road_m(there, centre))
    assert plan["routes"][0]["distance_km"] == round(metres / 1000, 3)
    assert plan["routes"][0]["vehicle_id"] == day["cold"]["id"]
    assert_problem(failed, 503, "routing_unavailable")
    # the plan made before is still there
    r = await f.client.get(url, headers=f.staff)
    assert r.json() == plan


async def test_vehicles_and_delivery_windows(floor: Floor) -> None:
    f = floor
    centre_url = f"/api/v1/collection-centres/{f.m.centre['id']}/vehicles"
    body = {"name": "Camión", "capacity_kg": "1500.5", "chilled": True}
    r = await f.client.post(centre_url, json=body, headers=f.admin)
    assert r.status_code == 201, r.text
    vehicle = r.json()
    assert (vehicle["capacity_kg"], vehicle["shift_start"], vehicle["shift_end"]) == (
        "1500.500",
        "06:00",
        "18:00",
    )
    assert_problem(
        await f.client.post(centre_url, json=body, headers=f.staff), 403, "insufficient_role"
    )
    r = await f.client.post(centre_url, json=body, headers=f.other_centre_staff)
    assert_problem(r, 404, "organization_not_found")
    bad = {**body, "shift_start": "18:00", "shift_end": "08:00"}
    assert_problem(
        await f.client.post(centre_url, json=bad, headers=f.admin), 422, "invalid_vehicle"
    )
    bad = {**body, "capacity_kg": "0"}
    assert_problem(
        await f.client.post(centre_url, json=bad, headers=f.admin), 422, "validation_error"
    )
    r = await f.client.get(centre_url, headers=f.staff)
    assert [v["id"] for v in r.json()["items"]] == [vehicle["id"]]
    r = await f.client.get(centre_url, headers=f.m.buyer_staff)
    assert_problem(r, 404, "organization_not_found")

    buyer_url = f"/api/v1/buyers/{f.m.buyer['id']}/delivery-window"
    r = await f.client.get(buyer_url, headers=f.m.buyer_staff)
    assert r.json() == {
        "buyer_id": f.m.buyer["id"],
        "opens": "00:00",
        "closes": "24:00",
        "service_minutes": 10,
        "windows": [{"opens": "00:00", "closes": "24:00"}],
    }
    window = {"opens": "08:30", "closes": "12:00", "service_minutes": 20}
    r = await f.client.put(buyer_url, json=window, headers=f.m.buyer_staff)
    assert_problem(r, 403, "insufficient_role")
    _, buyer_admin = await f.api.member(f.m.buyer["id"], role="admin")
    r = await f.client.put(buyer_url, json=window, headers=buyer_admin)
    assert r.status_code == 200
    assert r.json()["opens"] == "08:30"
    r = await f.client.put(buyer_url, json={**window, "closes": "08:00"}, headers=buyer_admin)
    assert_problem(r, 422, "invalid_delivery_window")
    r = await f.client.put(buyer_url, json={**window, "opens": "8h"}, headers=buyer_admin)
    assert_problem(r, 422, "validation_error")
    r = await f.client.get(buyer_url, headers=f.m.buyer_staff)
    assert r.json()["service_minutes"] == 20
    r = await f.client.put(
        f"/api/v1/buyers/{f.m.centre['id']}/delivery-window", json=window, headers=f.admin
    )
    assert_problem(r, 404, "organization_not_found")
    assert Decimal(vehicle["capacity_kg"]) == Decimal("1500.5")

"""The richer route constraints through the API: fixed costs (fewer trucks when cheaper),
crates as a second capacity, a buyer's second window, a maximum route duration, the
driver's break, the plan's time limit, determinism, and the problems for bad input.

The market's SKU is chilled and weighs 0.5 kg a unit, so every vehicle here is chilled and
an order of 50 units (all the supply) is 25 kg: two crates of 20 kg at most
(``Settings.route_crate_kg``)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI

from app.accounts.models import Role
from app.accounts.principal import Principal
from app.core.config import Settings
from app.core.db import transaction
from app.core.timeutil import utcnow
from app.fulfilment import routes, routing
from app.fulfilment.distances import estimate_matrix
from app.fulfilment.exceptions import RouteInputsChanged
from tests.fulfilment.helpers import Floor
from tests.utils import assert_problem

LATACUNGA = {"latitude": -0.929, "longitude": -78.608, "parish": "La Matriz"}
# north and south of the centre, far apart: 26 km and 17 km of road by the estimate
LASSO = {"latitude": -0.750, "longitude": -78.610, "parish": "Tanicuchí"}
SALCEDO = {"latitude": -1.045, "longitude": -78.590, "parish": "San Miguel"}


def _near(place: dict[str, Any], k: int) -> dict[str, Any]:
    return {**place, "latitude": place["latitude"] + 0.001 * k}


async def _vehicle(f: Floor, **body: Any) -> dict[str, Any]:
    r = await f.client.post(
        f"/api/v1/collection-centres/{f.m.centre['id']}/vehicles",
        json={"capacity_kg": "500", "chilled": True, **body},
        headers=f.admin,
    )
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def _buyer(
    f: Floor, name: str, place: dict[str, Any], quantity: str, windows: list[dict[str, str]]
) -> dict[str, Any]:
    buyer, _ = await _buyer_and_admin(f, name, place, quantity, windows)
    return buyer


async def _buyer_and_admin(
    f: Floor, name: str, place: dict[str, Any], quantity: str, windows: list[dict[str, str]]
) -> tuple[dict[str, Any], dict[str, str]]:
    buyer, _ = await f.buyer(name, **place)
    _, admin = await f.api.member(buyer["id"], role="admin")
    await f.order(quantity, buyer=buyer, headers=admin)
    r = await f.client.put(
        f"/api/v1/buyers/{buyer['id']}/delivery-window",
        json={"windows": windows, "service_minutes": 10},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    return buyer, admin


async def _ready(f: Floor) -> None:
    await f.close()
    await f.receive_all()
    await f.build()


def _local(f: Floor, iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(f.m.cycle["timezone"]))


def _hm(moment: datetime) -> str:
    return moment.strftime("%H:%M")


async def _plan(f: Floor, **params: Any) -> dict[str, Any]:
    r = await f.client.post(
        f"/api/v1/cycles/{f.m.cycle['id']}/routes", params=params, headers=f.staff
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def _two_towns(f: Floor) -> None:
    """Early and late buyers in Lasso and in Salcedo: two trucks (one per town, waiting
    there) drive about 87 km, one truck going back and forth about 172 km."""
    for k, (place, window) in enumerate(
        [
            (LASSO, ("06:30", "07:30")),
            (SALCEDO, ("06:30", "09:00")),
            (LASSO, ("09:30", "10:30")),
            (SALCEDO, ("10:45", "12:00")),
        ]
    ):
        await _buyer(
            f, f"Tienda {k}", _near(place, k), "4", [{"opens": window[0], "closes": window[1]}]
        )
    await _ready(f)


async def test_without_fixed_costs_the_shortest_plan_takes_two_trucks(floor: Floor) -> None:
    f = floor
    await _two_towns(f)
    for name in ("Furgón 1", "Furgón 2"):
        await _vehicle(f, name=name)
    plan = await _plan(f)
    assert plan["unassigned"] == []
    assert len(plan["routes"]) == 2
    assert plan["cost_cents"] == sum(r["cost_cents"] for r in plan["routes"])


async def test_a_fixed_cost_makes_one_truck_cheaper(floor: Floor) -> None:
    f = floor
    await _two_towns(f)
    for name in ("Furgón 1", "Furgón 2"):
        vehicle = await _vehicle(f, name=name, fixed_cost_cents=10_000, cost_per_km_cents=100)
        assert (vehicle["fixed_cost_cents"], vehicle["cost_per_km_cents"]) == (10_000, 100)
    plan = await _plan(f)
    assert plan["unassigned"] == []
    [route] = plan["routes"]
    assert len(route["stops"]) == 4
    # one truck: its fixed cost and its kilometres (a dollar each)
    assert route["cost_cents"] == 10_000 + round(route["distance_km"] * 100)
    assert route["distance_km"] > 150


async def test_crates_are_a_second_capacity(floor: Floor) -> None:
    f = floor
    buyer = await _buyer(f, "Mercado", LATACUNGA, "50", [{"opens": "07:00", "closes": "12:00"}])
    await _ready(f)
    small = await _vehicle(f, name="Moto", capacity_crates=1)
    assert small["capacity_crates"] == 1
    plan = await _plan(f)
    # 25 kg fit the 500 kg, but 2 crates do not fit 1
    assert [(u["buyer_id"], u["reason"]) for u in plan["unassigned"]] == [
        (buyer["id"], "over_capacity")
    ]
    await _vehicle(f, name="Camioneta", capacity_crates=2, capacity_kg="30")
    plan = await _plan(f)
    [route] = plan["routes"]
    assert route["crates"] == 2
    [stop] = route["stops"]
    assert (stop["crates"], stop["load_kg"]) == (2, "25.000")


async def test_kilograms_still_bind_with_crates_to_spare(floor: Floor) -> None:
    f = floor
    await _buyer(f, "Mercado", LATACUNGA, "50", [{"opens": "07:00", "closes": "12:00"}])
    await _ready(f)
    await _vehicle(f, name="Camioneta", capacity_crates=50, capacity_kg="20")
    plan = await _plan(f)
    assert [u["reason"] for u in plan["unassigned"]] == ["over_capacity"]


async def test_a_buyers_second_window_is_used(floor: Floor) -> None:
    f = floor
    buyer, admin = await _buyer_and_admin(
        f,
        "Restaurante",
        LATACUNGA,
        "4",
        [{"opens": "07:00", "closes": "08:00"}, {"opens": "14:00", "closes": "16:00"}],
    )
    r = await f.client.get(f"/api/v1/buyers/{buyer['id']}/delivery-window", headers=admin)
    window = r.json()
    assert (window["opens"], window["closes"]) == ("07:00", "08:00")
    assert window["windows"] == [
        {"opens": "07:00", "closes": "08:00"},
        {"opens": "14:00", "closes": "16:00"},
    ]
    await _ready(f)
    # an afternoon shift misses the first window but reaches the second
    await _vehicle(f, name="Tarde", shift_start="12:00", shift_end="18:00")
    plan = await _plan(f)
    [route] = plan["routes"]
    [stop] = route["stops"]
    assert "14:00" <= _hm(_local(f, stop["eta"])) <= "16:00"


async def test_a_maximum_route_duration_is_respected(floor: Floor) -> None:
    f = floor
    await _buyer(f, "Lejos", LASSO, "4", [{"opens": "06:00", "closes": "17:00"}])
    await _ready(f)
    # there, 10 minutes of unloading and back, by the same estimate the planner uses
    centre = routing.Point(f.m.centre["latitude"], f.m.centre["longitude"])
    lasso = routing.Point(LASSO["latitude"], LASSO["longitude"])
    seconds = estimate_matrix([centre, lasso]).durations_s
    needed = (seconds[0][1] + 600 + seconds[1][0]) / 60
    short = await _vehicle(f, name="Corto", max_route_minutes=math.floor(needed) - 1)
    assert short["max_route_minutes"] == math.floor(needed) - 1
    plan = await _plan(f)
    assert [u["reason"] for u in plan["unassigned"]] == ["time_window"]
    await _vehicle(f, name="Largo", max_route_minutes=math.ceil(needed) + 1)
    plan = await _plan(f)
    [route] = plan["routes"]
    assert route["vehicle_name"] == "Largo"
    assert route["duration_minutes"] <= math.ceil(needed) + 1


async def test_the_driver_takes_the_break(floor: Floor) -> None:
    f = floor
    await _buyer(f, "Lejos", LASSO, "4", [{"opens": "06:00", "closes": "17:00"}])
    await _buyer(f, "Sur", SALCEDO, "4", [{"opens": "09:00", "closes": "17:00"}])
    await _ready(f)
    van = await _vehicle(
        f, name="Con pausa", break_start="07:00", break_end="07:30", break_minutes=30
    )
    assert (van["break_start"], van["break_end"], van["break_minutes"]) == ("07:00", "07:30", 30)
    plan = await _plan(f)
    assert plan["unassigned"] == []
    [route] = plan["routes"]
    assert route["break_minutes"] == 30
    start = _local(f, route["break_start"])
    assert "07:00" <= _hm(start) <= "07:30"
    # the break is not inside any stop's service
    for stop in route["stops"]:
        eta = _local(f, stop["eta"])
        assert start + timedelta(minutes=30) <= eta or start >= eta + timedelta(minutes=10)
    # the stored plan keeps the break
    r = await f.client.get(f"/api/v1/cycles/{f.m.cycle['id']}/routes", headers=f.staff)
    assert r.json()["routes"][0]["break_start"] == route["break_start"]


async def test_plans_are_deterministic_and_the_time_limit_is_an_option(
    floor: Floor, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = floor
    await _two_towns(f)
    for name in ("Furgón 1", "Furgón 2", "Furgón 3"):
        await _vehicle(f, name=name, fixed_cost_cents=5_000)

    def shape(plan: dict[str, Any]) -> list[Any]:
        return [
            (r["vehicle_id"], r["distance_km"], [(s["shipment_id"], s["eta"]) for s in r["stops"]])
            for r in plan["routes"]
        ]

    first = await _plan(f)
    for params in ({}, {"time_limit_seconds": 30}, {}):
        assert shape(await _plan(f, **params)) == shape(first)
    url = f"/api/v1/cycles/{f.m.cycle['id']}/routes"
    # the schema's bound is 60 s
    for bad in ("0", "-1", "abc", "61"):
        r = await f.client.post(url, params={"time_limit_seconds": bad}, headers=f.staff)
        assert_problem(r, 422, "validation_error")
    # a server may allow less (route_max_time_limit_s)
    monkeypatch.setattr(settings, "route_max_time_limit_s", 20.0)
    r = await f.client.post(url, params={"time_limit_seconds": "30"}, headers=f.staff)
    assert_problem(r, 422, "invalid_time_limit")


async def test_bad_vehicles_and_windows_are_problems(floor: Floor) -> None:
    f = floor
    url = f"/api/v1/collection-centres/{f.m.centre['id']}/vehicles"
    base = {"name": "Camión", "capacity_kg": "500"}
    for bad, code in [
        ({"capacity_crates": 0}, "validation_error"),
        ({"fixed_cost_cents": -1}, "validation_error"),
        ({"cost_per_km_cents": 1.5}, "validation_error"),
        ({"max_route_minutes": 0}, "validation_error"),
        ({"max_route_minutes": 13 * 60}, "invalid_vehicle"),  # longer than the 12 h shift
        ({"break_start": "12:00"}, "invalid_vehicle"),  # no end nor minutes
        ({"break_start": "12:00", "break_end": "11:00", "break_minutes": 30}, "invalid_vehicle"),
        ({"break_start": "05:00", "break_end": "06:00", "break_minutes": 30}, "invalid_vehicle"),
        ({"break_start": "17:50", "break_end": "18:00", "break_minutes": 30}, "invalid_vehicle"),
        ({"break_start": "12:00", "break_end": "13:00", "break_minutes": 0}, "validation_error"),
        ({"break_start": "12h", "break_end": "13:00", "break_minutes": 30}, "validation_error"),
    ]:
        r = await f.client.post(url, json={**base, **bad}, headers=f.admin)
        assert_problem(r, 422, code)
    # the old form still works and answers the new fields with their defaults
    r = await f.client.post(url, json=base, headers=f.admin)
    assert r.status_code == 201, r.text
    vehicle = r.json()
    assert vehicle["capacity_crates"] is None
    assert (vehicle["fixed_cost_cents"], vehicle["cost_per_km_cents"]) == (0, 100)
    assert (vehicle["max_route_minutes"], vehicle["break_start"], vehicle["break_minutes"]) == (
        None,
        None,
        0,
    )

    _, admin = await f.api.member(f.m.buyer["id"], role="admin")
    url = f"/api/v1/buyers/{f.m.buyer['id']}/delivery-window"
    morning = {"opens": "07:00", "closes": "09:00"}
    afternoon = {"opens": "14:00", "closes": "16:00"}
    for bad, code in [
        ({}, "invalid_delivery_window"),
        ({"opens": "07:00"}, "invalid_delivery_window"),
        ({"windows": [afternoon, morning]}, "invalid_delivery_window"),  # out of order
        ({"windows": [morning, {"opens": "08:00", "closes": "10:00"}]}, "invalid_delivery_window"),
        ({"windows": [{"opens": "09:00", "closes": "08:00"}]}, "invalid_delivery_window"),
        ({"windows": [morning], **morning}, "invalid_delivery_window"),  # both forms
        ({"windows": []}, "validation_error"),
        ({"windows": [morning] * 5}, "validation_error"),
        ({"windows": [{"opens": "07:00"}]}, "validation_error"),
    ]:
        r = await f.client.put(url, json=bad, headers=admin)
        assert_problem(r, 422, code)
    r = await f.client.put(url, json={"windows": [morning, afternoon]}, headers=admin)
    assert r.status_code == 200, r.text
    # the old form replaces both with one
    r = await f.client.put(url, json=morning, headers=admin)
    assert r.json()["windows"] == [morning]


async def test_a_plan_solved_before_the_fleet_changed_is_not_stored(
    floor: Floor, app: FastAPI
) -> None:
    """The write transaction reads the problem again: a vehicle added while the solver ran
    (here between the steps of the flow) makes the plan stale, 409, and nothing stored."""
    f = floor
    await _buyer(f, "Mercado", LATACUNGA, "4", [{"opens": "07:00", "closes": "12:00"}])
    await _ready(f)
    await _vehicle(f, name="Furgón 1")
    principal = Principal(user_id=None, roles={f.m.centre["id"]: Role.staff})
    settings = Settings()
    async with transaction(app.state.sessionmaker, write=False) as session:
        problem = await routes.load_problem(session, principal, f.m.cycle["id"])
    solved = await routes.solve(settings, problem)
    await _vehicle(f, name="Furgón 2")  # meanwhile
    with pytest.raises(RouteInputsChanged):
        async with transaction(app.state.sessionmaker) as session:
            await routes.store(session, principal, solved, now=utcnow())
    r = await f.client.get(f"/api/v1/cycles/{f.m.cycle['id']}/routes", headers=f.staff)
    assert_problem(r, 404, "route_plan_not_found")
    # solved again, it is stored
    async with transaction(app.state.sessionmaker, write=False) as session:
        problem = await routes.load_problem(session, principal, f.m.cycle["id"])
    solved = await routes.solve(settings, problem)
    async with transaction(app.state.sessionmaker) as session:
        await routes.store(session, principal, solved, now=utcnow())
    r = await f.client.get(f"/api/v1/cycles/{f.m.cycle['id']}/routes", headers=f.staff)
    assert r.status_code == 200

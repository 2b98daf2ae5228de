"""The route model: capacity, cold chain, time windows, shifts, reasons, determinism.

Buyers around the Latacunga collection centre (Cotopaxi); the matrix is the estimate.
Every plan also goes through ``assert_sound``, a checker written from the inputs alone.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.fulfilment.distances import Matrix, estimate_matrix
from app.fulfilment.routing import (
    Plan,
    Point,
    Reason,
    Stop,
    Vehicle,
    grams_capacity,
    grams_load,
    solve,
)

H = 3600
DEPOT = Point(-0.9330, -78.6150)  # collection centre, Latacunga
TOWNS = {
    "latacunga": Point(-0.9290, -78.6080),
    "salcedo": Point(-1.0450, -78.5900),
    "pujili": Point(-0.9570, -78.6960),
    "saquisili": Point(-0.8400, -78.6670),
}


def stop(
    sid: str,
    town: str,
    kg: str,
    *,
    chilled: bool = False,
    window: tuple[int, int] | None = None,
    service: int = 600,
) -> Stop:
    return Stop(sid, f"buyer-{sid}", TOWNS[town], Decimal(kg), chilled, window, service)


def van(
    vid: str, kg: str, *, chilled: bool = False, shift: tuple[int, int] = (6 * H, 18 * H)
) -> Vehicle:
    return Vehicle(vid, Decimal(kg), chilled, shift)


def matrix_for(stops: Sequence[Stop]) -> Matrix:
    return estimate_matrix([DEPOT, *(s.point for s in stops)])


def plan_for(stops: Sequence[Stop], vehicles: Sequence[Vehicle], **kwargs: int) -> Plan:
    plan = solve(DEPOT, stops, vehicles, matrix_for(stops), **kwargs)
    assert_sound(plan, stops, vehicles, matrix_for(stops))
    return plan


def assert_sound(
    plan: Plan, stops: Sequence[Stop], vehicles: Sequence[Vehicle], matrix: Matrix
) -> None:
    by_id = {s.shipment_id: s for s in stops}
    index = {s.shipment_id: i for i, s in enumerate(stops, start=1)}
    fleet = {v.vehicle_id: v for v in vehicles}
    routed = [p.shipment_id for r in plan.routes for p in r.stops]
    unassigned = [u.shipment_id for u in plan.unassigned]
    assert sorted(routed + unassigned) == sorted(by_id), "each shipment exactly once"
    assert {u.reason for u in plan.unassigned} <= set(Reason)
    assert len({r.vehicle_id for r in plan.routes}) == len(plan.routes)
    total = 0
    for route in plan.routes:
        vehicle = fleet[route.vehicle_id]
        assert route.stops, "no empty routes"
        assert sum(by_id[p.shipment_id].load_kg for p in route.stops) <= vehicle.capacity_kg
        assert route.load_kg == sum(p.load_kg for p in route.stops)
        here, free = 0, vehicle.shift[0]
        distance = 0
        for planned in route.stops:
            s = by_id[planned.shipment_id]
            assert (planned.buyer_id, planned.load_kg) == (s.buyer_id, s.load_kg)
            assert vehicle.chilled or not s.chilled, "chilled goods on a dry vehicle"
            there = index[s.shipment_id]
            assert planned.eta_seconds >= free + matrix.durations_s[here][there]
            if s.window:
                assert s.window[0] <= planned.eta_seconds <= s.window[1]
            distance += matrix.distances_m[here][there]
            here, free = there, planned.eta_seconds + s.service_seconds
        distance += matrix.distances_m[here][0]
        assert free + matrix.durations_s[here][0] <= vehicle.shift[1], "back within the shift"
        assert route.departure_s >= vehicle.shift[0]
        assert route.departure_s + route.duration_s <= vehicle.shift[1]
        assert route.distance_m == distance
        total += distance
    assert plan.distance_m == total
    assert [r.vehicle_id for r in plan.routes] == sorted(r.vehicle_id for r in plan.routes)
    assert unassigned == sorted(unassigned)


def reasons(plan: Plan) -> dict[str, str]:
    return {u.shipment_id: u.reason for u in plan.unassigned}


def vehicle_of(plan: Plan) -> dict[str, str]:
    return {p.shipment_id: r.vehicle_id for r in plan.routes for p in r.stops}


# -- capacity -------------------------------------------------------------------------------


def test_every_stop_is_served_when_the_fleet_fits() -> None:
    stops = [
        stop("s1", "latacunga", "120"),
        stop("s2", "salcedo", "80.5", chilled=True),
        stop("s3", "pujili", "45"),
        stop("s4", "saquisili", "60", chilled=True),
    ]
    plan = plan_for(stops, [van("cold", "500", chilled=True), van("dry", "500")])
    assert plan.unassigned == ()
    assert plan.distance_m > 0


def test_capacity_is_respected_and_the_rest_is_not_served() -> None:
    stops = [stop(f"s{i}", town, "60") for i, town in enumerate(TOWNS)]
    plan = plan_for(stops, [van("v1", "130"), van("v2", "70")])
    loads = {r.vehicle_id: r.load_kg for r in plan.routes}
    assert loads["v1"] == Decimal("120")
    assert loads["v2"] == Decimal("60")
    assert sorted(reasons(plan).values()) == [Reason.not_served]


def test_a_load_exactly_at_capacity_fits() -> None:
    plan = plan_for([stop("s1", "salcedo", "350.000")], [van("v1", "350")])
    assert vehicle_of(plan) == {"s1": "v1"}


def test_grams_round_loads_up_and_capacities_down() -> None:
    assert grams_load(Decimal("50.0001")) == 50_001
    assert grams_capacity(Decimal("100.0009")) == 100_000
    # 2 x 50.0003 kg = 100.0006 kg is over 100.0005 kg: never on one vehicle
    stops = [stop("a", "pujili", "50.0003"), stop("b", "pujili", "50.0003")]
    plan = plan_for(stops, [van("v1", "100.0005")])
    assert len(plan.routes[0].stops) == 1
    assert reasons(plan) == {"b": "not_served"} or reasons(plan) == {"a": "not_served"}


def test_a_stop_heavier_than_every_suitable_vehicle_is_over_capacity() -> None:
    stops = [
        stop("big", "latacunga", "900"),
        stop("cold", "salcedo", "400", chilled=True),  # fits the dry truck, not the cold van
        stop("ok", "pujili", "30", chilled=True),
    ]
    plan = plan_for(stops, [van("cold-van", "300", chilled=True), van("truck", "800")])
    assert reasons(plan) == {"big": "over_capacity", "cold": "over_capacity"}
    assert vehicle_of(plan) == {"ok": "cold-van"}


# -- cold chain -----------------------------------------------------------------------------


def test_a_chilled_stop_never_rides_a_dry_vehicle() -> None:
    # the dry truck is big and free; the cold van can take only two of the chilled stops
    stops = [stop(f"c{i}", town, "90", chilled=True) for i, town in enumerate(TOWNS)]
    stops += [stop(f"d{i}", town, "40") for i, town in enumerate(TOWNS)]
    plan = plan_for(stops, [van("cold", "200", chilled=True), van("dry", "5000")])
    placed = vehicle_of(plan)
    assert all(placed.get(f"c{i}") in (None, "cold") for i in range(4))
    assert [placed.get(f"c{i}") for i in range(4)].count("cold") == 2
    assert sorted(reasons(plan).items()) == [
        (f"c{i}", "not_served") for i in range(4) if f"c{i}" not in placed
    ]


def test_dry_goods_may_ride_in_a_chilled_vehicle() -> None:
    plan = plan_for([stop("d", "saquisili", "50")], [van("cold", "100", chilled=True)])
    assert vehicle_of(plan) == {"d": "cold"}


def test_a_chilled_stop_without_a_chilled_vehicle_is_reported() -> None:
    stops = [stop("c", "salcedo", "10", chilled=True), stop("d", "salcedo", "10")]
    plan = plan_for(stops, [van("dry", "1000")])
    assert reasons(plan) == {"c": "no_chilled_vehicle"}
    assert vehicle_of(plan) == {"d": "dry"}


def test_without_vehicles_nothing_is_served() -> None:
    stops = [stop("a", "pujili", "10"), stop("b", "salcedo", "10", chilled=True)]
    plan = plan_for(stops, [])
    assert plan.routes == ()
    assert reasons(plan) == {"a": "no_vehicle", "b": "no_vehicle"}
    assert plan.distance_m == 0


# -- time -----------------------------------------------------------------------------------


def test_windows_are_honoured() -> None:
    stops = [
        stop("late", "latacunga", "20", window=(11 * H, 12 * H)),
        stop("early", "salcedo", "20", window=(7 * H, 7 * H + 1800)),
        stop("mid", "pujili", "20", window=(9 * H, 9 * H + 900)),
        stop("any", "saquisili", "20"),
    ]
    plan = plan_for(stops, [van("v1", "500")])
    assert plan.unassigned == ()
    etas = {p.shipment_id: p.eta_seconds for p in plan.routes[0].stops}
    assert 7 * H <= etas["early"] <= 7 * H + 1800
    assert 9 * H <= etas["mid"] <= 9 * H + 900
    assert 11 * H <= etas["late"] <= 12 * H
    order = [p.shipment_id for p in plan.routes[0].stops]
    assert order.index("early") < order.index("mid") < order.index("late")


def test_overlapping_tight_windows_need_a_second_vehicle() -> None:
    # Salcedo and Saquisilí are about 40 minutes apart; both want the same quarter hour
    stops = [
        stop("s", "salcedo", "20", window=(8 * H, 8 * H + 900)),
        stop("q", "saquisili", "20", window=(8 * H, 8 * H + 900)),
    ]
    one = plan_for(stops, [van("v1", "500")])
    assert len(reasons(one)) == 1
    assert set(reasons(one).values()) == {"not_served"}
    two = plan_for(stops, [van("v1", "500"), van("v2", "500")])
    assert two.unassigned == ()
    assert len(two.routes) == 2


def test_a_window_unreachable_within_any_shift_is_time_window() -> None:
    stops = [
        stop("before", "salcedo", "10", window=(5 * H, 6 * H)),  # shifts start at 6:00
        stop("after", "salcedo", "10", window=(17 * H + 3000, 18 * H)),  # no way back by 18:00
        stop("ok", "salcedo", "10", window=(6 * H, 18 * H)),
    ]
    plan = plan_for(stops, [van("v1", "100"), van("v2", "100", shift=(7 * H, 15 * H))])
    assert reasons(plan) == {"before": "time_window", "after": "time_window"}


def test_the_window_check_only_counts_vehicles_that_may_carry_the_stop() -> None:
    # the early dry van could reach it, but the goods are chilled and the cold van starts late
    stops = [stop("c", "pujili", "10", chilled=True, window=(6 * H, 7 * H))]
    vehicles = [
        van("early-dry", "100"),
        van("late-cold", "100", chilled=True, shift=(8 * H, 16 * H)),
    ]
    assert reasons(plan_for(stops, vehicles)) == {"c": "time_window"}


def test_shifts_are_honoured() -> None:
    stops = [stop(f"s{i}", town, "10", service=1800) for i, town in enumerate(TOWNS)]
    plan = plan_for(stops, [van("short", "500", shift=(9 * H, 10 * H + 1800))])
    route = plan.routes[0]
    assert route.departure_s >= 9 * H
    assert route.departure_s + route.duration_s <= 10 * H + 1800
    assert len(route.stops) < 4
    assert set(reasons(plan).values()) == {"not_served"}


# -- determinism and input checks -----------------------------------------------------------


def random_stops(seed: int, n: int) -> list[Stop]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        town = rng.choice(sorted(TOWNS))
        centre = TOWNS[town]
        start = rng.choice([7, 8, 9, 10]) * H
        out.append(
            Stop(
                f"sh-{i:03d}",
                f"b-{i:03d}",
                Point(
                    centre.latitude + rng.uniform(-0.02, 0.02),
                    centre.longitude + rng.uniform(-0.02, 0.02),
                ),
                Decimal(rng.randint(500, 9000)) / 100,
                rng.random() < 0.4,
                rng.choice([None, (start, start + 3 * H)]),
                rng.choice([300, 600, 900]),
            )
        )
    return out


FLEET = [
    van("cold-1", "600", chilled=True),
    van("cold-2", "450", chilled=True),
    van("dry-1", "800"),
    van("dry-2", "700", shift=(7 * H, 15 * H)),
]


def test_the_plan_is_deterministic_and_ignores_input_order() -> None:
    stops = random_stops(7, 40)
    first = plan_for(stops, FLEET)
    assert plan_for(stops, FLEET) == first
    assert plan_for(stops, FLEET, threads=1) == first

    shuffled = stops[:]
    random.Random(1).shuffle(shuffled)
    fleet = FLEET[::-1]
    again = plan_for(shuffled, fleet)
    assert again == first


def test_malformed_inputs_are_refused() -> None:
    stops = [stop("a", "pujili", "1"), stop("b", "pujili", "1")]
    with pytest.raises(ValueError, match="3x3"):
        solve(DEPOT, stops, FLEET, matrix_for(stops[:1]))
    with pytest.raises(ValueError, match="duplicate shipment_id"):
        solve(DEPOT, [stops[0], stops[0]], FLEET, matrix_for(stops))
    with pytest.raises(ValueError, match="duplicate vehicle_id"):
        solve(DEPOT, stops, [FLEET[0], FLEET[0]], matrix_for(stops))
    with pytest.raises(ValueError, match="exploration_level"):
        solve(DEPOT, stops, FLEET, matrix_for(stops), exploration_level=6)
    with pytest.raises(ValueError, match="window"):
        stop("w", "pujili", "1", window=(10 * H, 9 * H))
    with pytest.raises(ValueError, match="load_kg"):
        stop("n", "pujili", "-1")
    with pytest.raises(ValueError, match="latitude"):
        Point(-91.0, 0.0)


def test_nothing_to_route_is_an_empty_plan() -> None:
    assert solve(DEPOT, [], FLEET, matrix_for([])) == Plan((), (), 0)


@st.composite
def instances(draw: st.DrawFn) -> tuple[list[Stop], list[Vehicle]]:
    n = draw(st.integers(0, 8))
    stops = []
    for i in range(n):
        start = draw(st.integers(5, 17)) * H
        stops.append(
            Stop(
                f"s{i}",
                f"b{i % 3}",
                TOWNS[draw(st.sampled_from(sorted(TOWNS)))],
                Decimal(draw(st.integers(0, 300_000))) / 1000,
                draw(st.booleans()),
                draw(st.none() | st.just((start, start + draw(st.integers(0, 3 * H))))),
                draw(st.sampled_from([0, 300, 900])),
            )
        )
    vehicles = [
        Vehicle(
            f"v{k}",
            Decimal(draw(st.integers(0, 400_000))) / 1000,
            draw(st.booleans()),
            draw(st.sampled_from([(6 * H, 18 * H), (8 * H, 12 * H), (13 * H, 17 * H)])),
        )
        for k in range(draw(st.integers(0, 3)))
    ]
    return stops, vehicles


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances())
def test_every_plan_is_sound(instance: tuple[list[Stop], list[Vehicle]]) -> None:
    stops, vehicles = instance
    plan = plan_for(stops, vehicles, exploration_level=1, threads=1)
    for u in plan.unassigned:
        s = next(s for s in stops if s.shipment_id == u.shipment_id)
        suitable = [v for v in vehicles if v.chilled or not s.chilled]
        if u.reason == Reason.no_vehicle:
            assert not vehicles
        elif u.reason == Reason.no_chilled_vehicle:
            assert s.chilled
            assert vehicles
            assert not suitable
        elif u.reason == Reason.over_capacity:
            assert suitable
            assert all(v.capacity_kg < s.load_kg for v in suitable)

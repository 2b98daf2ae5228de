"""The delivery day as a vehicle routing problem, solved by VROOM (pyvroom).

Pure: plain dataclasses in, a ``Plan`` out; no database, no HTTP. The fulfilment service
turns shipments and vehicles into ``Stop``s and ``Vehicle``s and a ``Matrix`` (from
``app.fulfilment.distances``), and the plan back into rows.

Named rules:

* **Matrix.** Index 0 is the depot (the collection centre); ``stops[i]`` is at index
  ``i + 1``. Durations in whole seconds, distances in whole metres. The solver minimises
  the distance driven (the cost matrix is the distance matrix) after serving as many
  stops as it can.
* **Cost.** The solver minimises cost in cents: each vehicle used costs its ``fixed_cost``
  plus ``cost_per_km`` for every kilometre it drives, after serving as many stops as it can.
  With equal per-km costs and no fixed cost this is the shortest total distance; a fixed
  cost makes it prefer fewer vehicles when the kilometres saved are worth less.
* **Capacity** has two dimensions. Weights are counted in whole grams: loads rounded *up*,
  capacities rounded *down*, so a plan is never over a vehicle's capacity in kilograms.
  Crates are whole crates (a vehicle without ``capacity_crates`` takes any number).
* **Route duration.** ``max_route_s`` bounds the time a vehicle spends driving and serving
  its stops (waiting for a window to open is not counted: the driver could leave later).
  It is enforced by folding each stop's service time into the travel time out of it, which
  changes no arrival time.
* **Break.** A vehicle with a ``break_window`` takes one break of ``break_seconds`` starting
  inside it, between two stops or on the way (``Route.break_start_s``).
* **Cold chain.** A chilled stop rides only in a chilled vehicle (a VROOM skill); dry goods
  may ride in any vehicle.
* **Time.** Times are seconds since the start of the delivery day (local time). A stop's
  windows (one or more, sorted, not overlapping) bound the start of its service (a vehicle
  arriving early waits); its ``service_seconds`` are spent there. A vehicle leaves the
  depot and is back within its shift. ``PlannedStop.eta_seconds`` is the start of service.
* **What cannot be served** is reported with the first reason that holds, checked before
  the solver runs: ``no_vehicle`` (empty fleet), ``no_chilled_vehicle``, ``over_capacity``
  (heavier or bulkier than every vehicle that may carry it), ``time_window`` (no vehicle
  able to carry it can reach it within one of its windows and be back within its shift and
  its maximum route duration). What the solver leaves
  out of a feasible instance (the fleet as a whole is too small or too busy) is
  ``not_served``.
* **Search effort.** ``exploration_level_for`` picks VROOM's level by the size of the day;
  ``time_limit_s`` caps the search. VROOM's search is deterministic at a given level (the
  same input gives the same plan at any thread count) as long as the limit is not reached;
  a limit that cuts the search makes the plan depend on the machine's speed.
* **Order.** The result does not depend on the order of the input lists beyond the matrix
  indices: stops and vehicles are given to the solver sorted by id, routes come out sorted
  by vehicle_id and unassigned stops by shipment_id.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import vroom  # type: ignore[import-untyped]

if TYPE_CHECKING:
    from app.fulfilment.distances import Matrix

__all__ = [
    "DAY_SECONDS",
    "DEFAULT_EXPLORATION_LEVEL",
    "MAX_EXPLORATION_LEVEL",
    "Plan",
    "PlannedStop",
    "Point",
    "Reason",
    "Route",
    "Stop",
    "Unassigned",
    "Vehicle",
    "grams_capacity",
    "grams_load",
    "route_cost",
    "solve",
]

DAY_SECONDS = 24 * 3600
MAX_EXPLORATION_LEVEL = 5
# The production search effort for mid-sized days (docs/bench-routes.md).
DEFAULT_EXPLORATION_LEVEL = 3
# What a vehicle's crates count when it sets none: any number.
UNLIMITED_CRATES = 10**9


def exploration_level_for(stops: int) -> int:
    """The search effort a delivery day of ``stops`` can afford on two cores within the plan
    time limit (figures in docs/bench-routes.md): the highest level up to 120 stops, the
    production default up to 250, and a lighter search beyond."""
    if stops <= 120:
        return MAX_EXPLORATION_LEVEL
    if stops <= 250:
        return DEFAULT_EXPLORATION_LEVEL
    return 1


_CHILLED = 1  # the VROOM skill of a chilled vehicle, required by a chilled stop
_GRAMS_PER_KG = Decimal(1000)


def _profile(cost_per_km: int) -> str:
    return f"car-{cost_per_km}"


class Reason(StrEnum):
    """Stable codes for a stop left out of the plan."""

    over_capacity = "over_capacity"
    no_chilled_vehicle = "no_chilled_vehicle"
    time_window = "time_window"
    no_vehicle = "no_vehicle"
    not_served = "not_served"


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.latitude) and -90 <= self.latitude <= 90):
            raise ValueError(f"latitude out of range: {self.latitude}")
        if not (math.isfinite(self.longitude) and -180 <= self.longitude <= 180):
            raise ValueError(f"longitude out of range: {self.longitude}")


@dataclass(frozen=True)
class Stop:
    """One shipment to deliver to one buyer."""

    shipment_id: str
    buyer_id: str
    point: Point
    load_kg: Decimal
    chilled: bool
    # (earliest, latest) start of service, seconds since the start of the delivery day
    window: tuple[int, int] | None = None
    service_seconds: int = 600
    crates: int = 0
    # more than one window: sorted, not overlapping; when given, ``window`` must be None
    windows: tuple[tuple[int, int], ...] = ()

    def __post_init__(self) -> None:
        if not (self.load_kg.is_finite() and self.load_kg >= 0):
            raise ValueError(f"stop {self.shipment_id}: load_kg must be >= 0")
        if self.window is not None and self.windows:
            raise ValueError(f"stop {self.shipment_id}: give window or windows, not both")
        for window in self.time_windows:
            _check_interval(window, f"stop {self.shipment_id}: window")
        for (_, end), (start, _) in itertools.pairwise(self.time_windows):
            if start <= end:
                raise ValueError(f"stop {self.shipment_id}: windows must be sorted, apart")
        if self.service_seconds < 0:
            raise ValueError(f"stop {self.shipment_id}: service_seconds must be >= 0")
        if self.crates < 0:
            raise ValueError(f"stop {self.shipment_id}: crates must be >= 0")

    @property
    def time_windows(self) -> tuple[tuple[int, int], ...]:
        """Every window of the stop (none: any time)."""
        return self.windows or ((self.window,) if self.window is not None else ())


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: str
    capacity_kg: Decimal
    chilled: bool
    # (leave the depot no earlier than, be back no later than), seconds since start of day
    shift: tuple[int, int] = (6 * 3600, 18 * 3600)
    capacity_crates: int | None = None  # None: any number of crates
    fixed_cost: int = 0  # cents, when the vehicle is used at all
    cost_per_km: int = 100  # cents per kilometre driven
    max_route_s: int | None = None  # driving and service, see the module's rules
    break_window: tuple[int, int] | None = None  # when the driver's break may start
    break_seconds: int = 0

    def __post_init__(self) -> None:
        if not (self.capacity_kg.is_finite() and self.capacity_kg >= 0):
            raise ValueError(f"vehicle {self.vehicle_id}: capacity_kg must be >= 0")
        _check_interval(self.shift, f"vehicle {self.vehicle_id}: shift")
        for name in ("capacity_crates", "max_route_s"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"vehicle {self.vehicle_id}: {name} must be >= 0")
        if self.fixed_cost < 0 or self.cost_per_km < 0 or self.break_seconds < 0:
            raise ValueError(f"vehicle {self.vehicle_id}: costs and break must be >= 0")
        if self.break_window is not None:
            _check_interval(self.break_window, f"vehicle {self.vehicle_id}: break_window")

    @property
    def crates(self) -> int:
        return UNLIMITED_CRATES if self.capacity_crates is None else self.capacity_crates


@dataclass(frozen=True)
class PlannedStop:
    shipment_id: str
    buyer_id: str
    eta_seconds: int  # start of service
    load_kg: Decimal
    crates: int = 0


@dataclass(frozen=True)
class Route:
    vehicle_id: str
    distance_m: int  # depot -> stops -> depot, on the matrix
    duration_s: int  # leaving the depot to being back: driving, waiting, service and break
    stops: tuple[PlannedStop, ...]
    departure_s: int = 0  # when the vehicle leaves the depot
    load_kg: Decimal = Decimal(0)  # sum of the stops' loads
    crates: int = 0  # sum of the stops' crates
    break_start_s: int | None = None  # the driver's break, when the vehicle has one
    cost: int = 0  # cents: the vehicle's fixed cost and its kilometres


@dataclass(frozen=True)
class Unassigned:
    shipment_id: str
    reason: str  # a ``Reason`` value


@dataclass(frozen=True)
class Plan:
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    distance_m: int
    cost: int = 0  # cents, the sum of the routes' costs


def grams_load(load_kg: Decimal) -> int:
    """A load in whole grams, rounded up."""
    return int((load_kg * _GRAMS_PER_KG).to_integral_value(rounding=ROUND_CEILING))


def grams_capacity(capacity_kg: Decimal) -> int:
    """A capacity in whole grams, rounded down."""
    return int((capacity_kg * _GRAMS_PER_KG).to_integral_value(rounding=ROUND_FLOOR))


def route_cost(vehicle: Vehicle, distance_m: int) -> int:
    """What a route costs in cents: the fixed cost and the kilometres, rounded half up."""
    return vehicle.fixed_cost + (vehicle.cost_per_km * distance_m + 500) // 1000


def solve(
    depot: Point,
    stops: Sequence[Stop],
    vehicles: Sequence[Vehicle],
    matrix: Matrix,
    *,
    exploration_level: int | None = None,
    threads: int = 2,
    time_limit_s: float | None = None,
) -> Plan:
    """Plan the routes of the delivery day (see the module's named rules).

    ``depot`` is informative: the matrix, built over ``[depot, *stop points]``, carries the
    geometry. ``exploration_level`` is VROOM's search effort, 0 to ``MAX_EXPLORATION_LEVEL``
    (5), by default ``exploration_level_for`` the number of stops; ``time_limit_s`` stops
    the search early (see the rules on determinism). Raises ``ValueError`` for a malformed
    matrix, duplicate ids, an unknown level or a limit that is not positive.
    """
    del depot  # the matrix is the geometry; the depot is its index 0
    level = exploration_level_for(len(stops)) if exploration_level is None else exploration_level
    _check_inputs(stops, vehicles, matrix, level)
    if time_limit_s is not None and not (math.isfinite(time_limit_s) and time_limit_s > 0):
        raise ValueError("time_limit_s must be a positive number of seconds")
    durations = matrix.durations_s

    unassigned: list[Unassigned] = []
    jobs: list[tuple[int, Stop]] = []  # (matrix index, stop), sorted by shipment_id
    for index, stop in sorted(enumerate(stops, start=1), key=lambda p: p[1].shipment_id):
        reason = _never_served(index, stop, vehicles, durations)
        if reason is None:
            jobs.append((index, stop))
        else:
            unassigned.append(Unassigned(stop.shipment_id, reason))

    routes: list[Route] = []
    if jobs:
        deadline = None if time_limit_s is None else time.monotonic() + time_limit_s
        fleet = sorted(vehicles, key=lambda v: v.vehicle_id)
        routes = _search(jobs, fleet, matrix, len(stops) + 1, level, threads, deadline)
        routes = _fewer_vehicles(
            routes, jobs, fleet, matrix, len(stops) + 1, level, threads, deadline
        )
        served = {p.shipment_id for r in routes for p in r.stops}
        unassigned += [
            Unassigned(s.shipment_id, Reason.not_served)
            for _, s in jobs
            if s.shipment_id not in served
        ]

    return Plan(
        routes=tuple(sorted(routes, key=lambda r: r.vehicle_id)),
        unassigned=tuple(sorted(unassigned, key=lambda u: u.shipment_id)),
        distance_m=sum(r.distance_m for r in routes),
        cost=sum(r.cost for r in routes),
    )


def _search(
    jobs: list[tuple[int, Stop]],
    fleet: list[Vehicle],
    matrix: Matrix,
    size: int,
    level: int,
    threads: int,
    deadline: float | None,
) -> list[Route]:
    timeout = None
    if deadline is not None:
        timeout = timedelta(seconds=max(0.001, deadline - time.monotonic()))
    solution = _vroom_input(jobs, fleet, matrix, size).solve(
        exploration_level=level, nb_threads=max(1, threads), timeout=timeout
    )
    return _routes(solution.routes, jobs, fleet, matrix)


def _fewer_vehicles(
    routes: list[Route],
    jobs: list[tuple[int, Stop]],
    fleet: list[Vehicle],
    matrix: Matrix,
    size: int,
    level: int,
    threads: int,
    deadline: float | None,
) -> list[Route]:
    """With fixed costs, try the day without one of the vehicles used, again and again while
    that serves as many stops for less (VROOM's moves seldom empty a route when windows are
    tight, so a plan with one truck fewer is rarely found from one with more). The vehicle
    left out is the used one with the highest fixed cost, then the lightest load, then id.
    Each try is a deterministic search; the time limit stops the tries."""
    by_id = {v.vehicle_id: v for v in fleet}
    while True:
        used = [r for r in routes if by_id[r.vehicle_id].fixed_cost > 0]
        if not used or (deadline is not None and time.monotonic() >= deadline):
            return routes
        drop = min(used, key=lambda r: (-by_id[r.vehicle_id].fixed_cost, r.load_kg, r.vehicle_id))
        idle = {v.vehicle_id for v in fleet} - {r.vehicle_id for r in routes}
        smaller = [v for v in fleet if v.vehicle_id != drop.vehicle_id and v.vehicle_id not in idle]
        if not smaller:
            return routes
        tried = _search(jobs, smaller, matrix, size, level, threads, deadline)
        served = sum(len(r.stops) for r in routes)
        if sum(len(r.stops) for r in tried) < served or sum(r.cost for r in tried) >= sum(
            r.cost for r in routes
        ):
            return routes
        routes = tried


def _check_interval(interval: tuple[int, int], what: str) -> None:
    start, end = interval
    if not 0 <= start <= end:
        raise ValueError(f"{what} must be (start, end) with 0 <= start <= end")


def _check_inputs(
    stops: Sequence[Stop], vehicles: Sequence[Vehicle], matrix: Matrix, exploration_level: int
) -> None:
    if not 0 <= exploration_level <= MAX_EXPLORATION_LEVEL:
        raise ValueError(f"exploration_level must be 0..{MAX_EXPLORATION_LEVEL}")
    if len({s.shipment_id for s in stops}) != len(stops):
        raise ValueError("duplicate shipment_id among the stops")
    if len({v.vehicle_id for v in vehicles}) != len(vehicles):
        raise ValueError("duplicate vehicle_id among the vehicles")
    n = len(stops) + 1
    for name, table in (("durations_s", matrix.durations_s), ("distances_m", matrix.distances_m)):
        if len(table) != n or any(len(row) != n for row in table):
            raise ValueError(f"matrix.{name} must be {n}x{n}: the depot, then each stop")
        if any(v < 0 for row in table for v in row):
            raise ValueError(f"matrix.{name} has a negative entry")


def _never_served(
    index: int, stop: Stop, vehicles: Sequence[Vehicle], durations: list[list[int]]
) -> Reason | None:
    """Why no plan at all could serve this stop, or None when some vehicle could."""
    if not vehicles:
        return Reason.no_vehicle
    allowed = [v for v in vehicles if v.chilled or not stop.chilled]
    if not allowed:
        return Reason.no_chilled_vehicle
    load = grams_load(stop.load_kg)
    able = [v for v in allowed if grams_capacity(v.capacity_kg) >= load and v.crates >= stop.crates]
    if not able:
        return Reason.over_capacity
    windows = stop.time_windows or ((0, DAY_SECONDS * 365),)
    there, back = durations[0][index], durations[index][0]
    for vehicle in able:
        leave, return_by = vehicle.shift
        if vehicle.max_route_s is not None and (
            there + stop.service_seconds + back > vehicle.max_route_s
        ):
            continue
        for earliest, latest in windows:
            start = max(leave + there, earliest)
            if start <= latest and start + stop.service_seconds + back <= return_by:
                return None
    return Reason.time_window


def _vroom_input(
    jobs: list[tuple[int, Stop]], fleet: list[Vehicle], matrix: Matrix, size: int
) -> Any:
    # each stop's service is folded into the travel out of it (the rule on route duration):
    # arrivals are unchanged, and VROOM's travel-time bound then counts driving and service
    service = [0] * size
    for index, stop in jobs:
        service[index] = stop.service_seconds
    durations = [
        [0 if i == j else seconds + service[i] for j, seconds in enumerate(row)]
        for i, row in enumerate(matrix.durations_s)
    ]
    # costs in tenths of a cent, a custom cost matrix per per-km price (VROOM's own per-km
    # costs searched markedly worse here: +19 % km at level 5 on a 200-stop day)
    problem = vroom.Input()
    for price in sorted({v.cost_per_km for v in fleet}):
        profile = _profile(price)
        problem.set_durations_matrix(profile, durations)
        problem.set_distances_matrix(profile, matrix.distances_m)
        problem.set_costs_matrix(
            profile, [[(m * price + 50) // 100 for m in row] for row in matrix.distances_m]
        )
    for number, vehicle in enumerate(fleet):
        breaks = []
        if vehicle.break_window is not None:
            breaks = [
                vroom.Break(
                    number,
                    time_windows=[vroom.TimeWindow(*vehicle.break_window)],
                    service=vehicle.break_seconds,
                )
            ]
        problem.add_vehicle(
            vroom.Vehicle(
                number,
                start=0,
                end=0,
                profile=_profile(vehicle.cost_per_km),
                capacity=[grams_capacity(vehicle.capacity_kg), vehicle.crates],
                skills={_CHILLED} if vehicle.chilled else set(),
                time_window=vroom.TimeWindow(*vehicle.shift),
                breaks=breaks,
                costs=vroom.VehicleCosts(fixed=vehicle.fixed_cost * 10),
                max_travel_time=vehicle.max_route_s,
            )
        )
    for index, stop in jobs:
        problem.add_job(
            vroom.Job(
                index,  # the job id is its matrix index
                location=index,
                default_service=0,
                delivery=[grams_load(stop.load_kg), stop.crates],
                skills={_CHILLED} if stop.chilled else set(),
                time_windows=[vroom.TimeWindow(*w) for w in stop.time_windows],
            )
        )
    return problem


def _routes(
    frame: Any, jobs: list[tuple[int, Stop]], fleet: list[Vehicle], matrix: Matrix
) -> list[Route]:
    """Read VROOM's step table (one row per start, job, break and end of each vehicle)."""
    if len(frame) == 0:
        return []
    by_index = dict(jobs)
    columns = {
        name: frame[name].tolist()
        for name in ("vehicle_id", "type", "arrival", "waiting_time", "id")
        if name in frame.columns
    }
    steps: dict[int, list[tuple[str, int, int, int]]] = {}
    for row in range(len(frame)):
        kind = str(columns["type"][row])
        # only job rows carry an id (start and end rows hold pandas.NA there)
        job_id = int(columns["id"][row]) if kind == "job" else -1
        steps.setdefault(int(columns["vehicle_id"][row]), []).append(
            (kind, int(columns["arrival"][row]), int(columns["waiting_time"][row]), job_id)
        )
    routes: list[Route] = []
    for number, vehicle_steps in steps.items():
        vehicle = fleet[number]
        planned: list[PlannedStop] = []
        path = [0]
        departure = arrival_back = 0
        break_start: int | None = None
        free_at = 0  # when the vehicle is done with its last stop
        for kind, arrival, waiting, job_id in vehicle_steps:
            if kind == "start":
                departure = free_at = arrival
            elif kind == "end":
                arrival_back = arrival
            elif kind == "job":
                stop = by_index[job_id]
                path.append(job_id)
                eta = arrival + waiting
                planned.append(
                    PlannedStop(stop.shipment_id, stop.buyer_id, eta, stop.load_kg, stop.crates)
                )
                free_at = eta + stop.service_seconds
            elif kind == "break":
                # with service folded into travel VROOM may place the break while the last
                # stop is still being served: report it after that service when it can be
                start = arrival + waiting
                latest = vehicle.break_window[1] if vehicle.break_window else start
                break_start = max(start, min(free_at, latest))
            else:  # pragma: no cover - we give VROOM no pickups or shipments
                raise RuntimeError(f"unexpected VROOM step {kind!r}")
        if not planned:
            continue
        path.append(0)
        distance = sum(matrix.distances_m[a][b] for a, b in itertools.pairwise(path))
        routes.append(
            Route(
                vehicle_id=vehicle.vehicle_id,
                distance_m=distance,
                duration_s=arrival_back - departure,
                stops=tuple(planned),
                departure_s=departure,
                load_kg=sum((p.load_kg for p in planned), Decimal(0)),
                crates=sum(p.crates for p in planned),
                break_start_s=break_start,
                cost=route_cost(vehicle, distance),
            )
        )
    return routes

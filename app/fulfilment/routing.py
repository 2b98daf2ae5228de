"""The delivery day as a vehicle routing problem, solved by VROOM (pyvroom).

Pure: plain dataclasses in, a ``Plan`` out; no database, no HTTP. The fulfilment service
turns shipments and vehicles into ``Stop``s and ``Vehicle``s and a ``Matrix`` (from
``app.fulfilment.distances``), and the plan back into rows.

Named rules:

* **Matrix.** Index 0 is the depot (the collection centre); ``stops[i]`` is at index
  ``i + 1``. Durations in whole seconds, distances in whole metres. The solver minimises
  the distance driven (the cost matrix is the distance matrix) after serving as many
  stops as it can.
* **Weights** are counted in whole grams: loads rounded *up*, capacities rounded *down*, so
  a plan is never over a vehicle's capacity in kilograms.
* **Cold chain.** A chilled stop rides only in a chilled vehicle (a VROOM skill); dry goods
  may ride in any vehicle.
* **Time.** Times are seconds since the start of the delivery day (local time). A stop's
  window bounds the start of its service (a vehicle arriving early waits); its
  ``service_seconds`` are spent there. A vehicle leaves the depot and is back within its
  shift. ``PlannedStop.eta_seconds`` is the start of service.
* **What cannot be served** is reported with the first reason that holds, checked before
  the solver runs: ``no_vehicle`` (empty fleet), ``no_chilled_vehicle``, ``over_capacity``
  (heavier than every vehicle that may carry it), ``time_window`` (no vehicle able to carry
  it can reach it within its window and be back within its shift). What the solver leaves
  out of a feasible instance (the fleet as a whole is too small or too busy) is
  ``not_served``.
* **Order.** The result does not depend on the order of the input lists beyond the matrix
  indices: stops and vehicles are given to the solver sorted by id, routes come out sorted
  by vehicle_id and unassigned stops by shipment_id.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
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
    "solve",
]

DAY_SECONDS = 24 * 3600
MAX_EXPLORATION_LEVEL = 5
# The production search effort: on two cores it plans 200 stops in about 1.5-2 s, where the
# highest level takes 5-7 s for plans a few per cent shorter at best (docs/bench-routes.md).
DEFAULT_EXPLORATION_LEVEL = 3


def exploration_level_for(stops: int) -> int:
    """The search effort a delivery day of ``stops`` can afford on a small server: the best
    plans for small days (level 5 solves 50 stops in about 0.4 s), the production default up
    to a few hundred stops, and a lighter search beyond (500 stops took 72 s at level 3)."""
    if stops <= 80:
        return MAX_EXPLORATION_LEVEL
    if stops <= 250:
        return DEFAULT_EXPLORATION_LEVEL
    return 1


_CHILLED = 1  # the VROOM skill of a chilled vehicle, required by a chilled stop
_GRAMS_PER_KG = Decimal(1000)
_PROFILE = "car"


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

    def __post_init__(self) -> None:
        if not (self.load_kg.is_finite() and self.load_kg >= 0):
            raise ValueError(f"stop {self.shipment_id}: load_kg must be >= 0")
        if self.window is not None:
            _check_interval(self.window, f"stop {self.shipment_id}: window")
        if self.service_seconds < 0:
            raise ValueError(f"stop {self.shipment_id}: service_seconds must be >= 0")


@dataclass(frozen=True)
class Vehicle:
    vehicle_id: str
    capacity_kg: Decimal
    chilled: bool
    # (leave the depot no earlier than, be back no later than), seconds since start of day
    shift: tuple[int, int] = (6 * 3600, 18 * 3600)

    def __post_init__(self) -> None:
        if not (self.capacity_kg.is_finite() and self.capacity_kg >= 0):
            raise ValueError(f"vehicle {self.vehicle_id}: capacity_kg must be >= 0")
        _check_interval(self.shift, f"vehicle {self.vehicle_id}: shift")


@dataclass(frozen=True)
class PlannedStop:
    shipment_id: str
    buyer_id: str
    eta_seconds: int  # start of service
    load_kg: Decimal


@dataclass(frozen=True)
class Route:
    vehicle_id: str
    distance_m: int  # depot -> stops -> depot, on the matrix
    duration_s: int  # leaving the depot to being back: driving, waiting and service
    stops: tuple[PlannedStop, ...]
    departure_s: int = 0  # when the vehicle leaves the depot
    load_kg: Decimal = Decimal(0)  # sum of the stops' loads


@dataclass(frozen=True)
class Unassigned:
    shipment_id: str
    reason: str  # a ``Reason`` value


@dataclass(frozen=True)
class Plan:
    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    distance_m: int


def grams_load(load_kg: Decimal) -> int:
    """A load in whole grams, rounded up."""
    return int((load_kg * _GRAMS_PER_KG).to_integral_value(rounding=ROUND_CEILING))


def grams_capacity(capacity_kg: Decimal) -> int:
    """A capacity in whole grams, rounded down."""
    return int((capacity_kg * _GRAMS_PER_KG).to_integral_value(rounding=ROUND_FLOOR))


def solve(
    depot: Point,
    stops: Sequence[Stop],
    vehicles: Sequence[Vehicle],
    matrix: Matrix,
    *,
    exploration_level: int = DEFAULT_EXPLORATION_LEVEL,
    threads: int = 2,
) -> Plan:
    """Plan the routes of the delivery day (see the module's named rules).

    ``depot`` is informative: the matrix, built over ``[depot, *stop points]``, carries the
    geometry. ``exploration_level`` is VROOM's search effort, 0 to ``MAX_EXPLORATION_LEVEL``
    (5); VROOM itself is deterministic, so the same input gives the same plan at any thread
    count. Raises ``ValueError`` for a malformed matrix, duplicate ids or an unknown level.
    """
    del depot  # the matrix is the geometry; the depot is its index 0
    _check_inputs(stops, vehicles, matrix, exploration_level)
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
        fleet = sorted(vehicles, key=lambda v: v.vehicle_id)
        solution = _vroom_input(jobs, fleet, matrix).solve(
            exploration_level=exploration_level, nb_threads=max(1, threads)
        )
        routes = _routes(solution.routes, jobs, fleet, matrix)
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
    )


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
    able = [v for v in allowed if grams_capacity(v.capacity_kg) >= load]
    if not able:
        return Reason.over_capacity
    earliest, latest = stop.window if stop.window is not None else (0, math.inf)
    there, back = durations[0][index], durations[index][0]
    for vehicle in able:
        leave, return_by = vehicle.shift
        start = max(leave + there, earliest)
        if start <= latest and start + stop.service_seconds + back <= return_by:
            return None
    return Reason.time_window


def _vroom_input(jobs: list[tuple[int, Stop]], fleet: list[Vehicle], matrix: Matrix) -> Any:
    problem = vroom.Input()
    problem.set_durations_matrix(_PROFILE, matrix.durations_s)
    problem.set_distances_matrix(_PROFILE, matrix.distances_m)
    problem.set_costs_matrix(_PROFILE, matrix.distances_m)
    for number, vehicle in enumerate(fleet):
        problem.add_vehicle(
            vroom.Vehicle(
                number,
                start=0,
                end=0,
                profile=_PROFILE,
                capacity=[grams_capacity(vehicle.capacity_kg)],
                skills={_CHILLED} if vehicle.chilled else set(),
                time_window=vroom.TimeWindow(*vehicle.shift),
            )
        )
    for index, stop in jobs:
        problem.add_job(
            vroom.Job(
                index,  # the job id is its matrix index
                location=index,
                default_service=stop.service_seconds,
                delivery=[grams_load(stop.load_kg)],
                skills={_CHILLED} if stop.chilled else set(),
                time_windows=[vroom.TimeWindow(*stop.window)] if stop.window else [],
            )
        )
    return problem


def _routes(
    frame: Any, jobs: list[tuple[int, Stop]], fleet: list[Vehicle], matrix: Matrix
) -> list[Route]:
    """Read VROOM's step table (one row per start, job and end of each vehicle)."""
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
        planned: list[PlannedStop] = []
        path = [0]
        departure = arrival_back = 0
        for kind, arrival, waiting, job_id in vehicle_steps:
            if kind == "start":
                departure = arrival
            elif kind == "end":
                arrival_back = arrival
            elif kind == "job":
                stop = by_index[job_id]
                path.append(job_id)
                planned.append(
                    PlannedStop(stop.shipment_id, stop.buyer_id, arrival + waiting, stop.load_kg)
                )
            else:  # pragma: no cover - we give VROOM no breaks, pickups or shipments
                raise RuntimeError(f"unexpected VROOM step {kind!r}")
        if not planned:
            continue
        path.append(0)
        routes.append(
            Route(
                vehicle_id=fleet[number].vehicle_id,
                distance_m=sum(matrix.distances_m[a][b] for a, b in itertools.pairwise(path)),
                duration_s=arrival_back - departure,
                stops=tuple(planned),
                departure_s=departure,
                load_kg=sum((p.load_kg for p in planned), Decimal(0)),
            )
        )
    return routes

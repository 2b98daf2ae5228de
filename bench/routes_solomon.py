"""Benchmark: Minga's route planner on the Solomon VRPTW instances (100 customers).

Eighteen instances, 01, 03 and 05 of the six classes (C1, C2, R1, R2, RC1, RC2), copied with
their best-known solutions from ``VROOM-Project/vroom-scripts`` into ``bench/data/solomon``
(see the README there). Each is solved three ways, interleaved instance by instance (the
order of the three rotates so none always runs on a warmer or quieter machine):

* **minga**: ``app.fulfilment.routing.solve``, the function the service calls, with the
  service's choices: the exploration level ``exploration_level_for(100)``, two threads and
  the time limit of the settings (``Settings.route_time_limit_s``);
* **vroom5**: the same function at VROOM's highest level, 5, under the same time limit;
* **pyvrp**: PyVRP (hybrid genetic search, one thread, seed 1) with the same time limit.

Conversion of an instance, as Solomon defines it: distances and travel times are Euclidean
between the coordinates, service times and windows as given, one depot with its window as
the shift, identical vehicles with the given capacity (in kilograms here). Minga counts in
whole seconds and metres, so every time and distance is scaled by 1,000 and rounded (the
convention of vroom-scripts); the distance reported is re-added in double precision from
the coordinates along each route, which is what the best-known figures count. The number of
vehicles is free (25 are offered, more than any instance needs) and each costs a fixed
10,000 distance units, more than any instance drives, so a plan with fewer vehicles is
always cheaper: the objective of the literature (vehicles first, then distance).

Every plan goes through a checker written from the instance alone: each customer once,
load within capacity, service starting inside its window, back at the depot before it
closes.

    .venv/bin/python -m bench.routes_solomon                # all 18, all three solvers
    .venv/bin/python -m bench.routes_solomon --solvers minga --instances C101 R105

Done means: at most 3 s per instance on 2 cores, the best-known number of vehicles on at
least 12 of the 18, the mean distance gap written down (docs/bench-routes.md).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from app.core.config import Settings
from app.fulfilment.distances import Matrix
from app.fulfilment.routing import Point, Stop, Vehicle, exploration_level_for, solve
from bench.routes import machine

DATA = Path(__file__).resolve().parent / "data" / "solomon"
CLASSES = ("C1", "C2", "R1", "R2", "RC1", "RC2")
NUMBERS = ("01", "03", "05")
SCALE = 1000  # times and distances in thousandths of Solomon's unit
FLEET = 25
FIXED_UNITS = 10_000  # the fixed cost of a vehicle, in Solomon distance units
SOLVERS = ("minga", "vroom5", "pyvrp")
TARGET_SECONDS = 3.0
TARGET_INSTANCES = 12


@dataclass(frozen=True)
class Customer:
    number: int
    x: float
    y: float
    demand: int
    ready: int
    due: int
    service: int


@dataclass(frozen=True)
class Instance:
    name: str
    vehicles: int
    capacity: int
    depot: Customer
    customers: tuple[Customer, ...]

    @property
    def family(self) -> str:
        return self.name[:-2]

    def euclid(self, a: Customer, b: Customer) -> float:
        return math.hypot(a.x - b.x, a.y - b.y)

    def scaled(self) -> list[list[int]]:
        places = (self.depot, *self.customers)
        return [[round(SCALE * self.euclid(a, b)) for b in places] for a in places]


def parse(path: Path) -> Instance:
    lines = [line.split() for line in path.read_text().splitlines() if line.strip()]
    vehicles, capacity = (int(v) for v in lines[3])
    rows = [
        Customer(int(r[0]), float(r[1]), float(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]))
        for r in lines[6:]
    ]
    return Instance(lines[0][0], vehicles, capacity, rows[0], tuple(rows[1:]))


def best_known() -> dict[str, dict[str, float]]:
    return json.loads((DATA / "BKS.json").read_text())


# --- Minga ---------------------------------------------------------------------------------


def minga_inputs(instance: Instance) -> tuple[list[Stop], list[Vehicle], Matrix]:
    table = instance.scaled()
    stops = [
        Stop(
            shipment_id=f"c{c.number:03d}",
            buyer_id=f"c{c.number:03d}",
            point=Point(0.0, 0.0),  # informative: the matrix is the geometry
            load_kg=Decimal(c.demand),
            chilled=False,
            window=(c.ready * SCALE, c.due * SCALE),
            service_seconds=c.service * SCALE,
        )
        for c in instance.customers
    ]
    fleet = [
        Vehicle(
            vehicle_id=f"v{k:02d}",
            capacity_kg=Decimal(instance.capacity),
            chilled=False,
            shift=(instance.depot.ready * SCALE, instance.depot.due * SCALE),
            fixed_cost=FIXED_UNITS * SCALE,
            cost_per_km=1000,  # one cost unit per scaled "metre"
        )
        for k in range(FLEET)
    ]
    return stops, fleet, Matrix(durations_s=table, distances_m=table)


def solve_minga(instance: Instance, level: int | None, limit: float) -> list[list[int]]:
    stops, fleet, matrix = minga_inputs(instance)
    plan = solve(
        Point(0.0, 0.0),
        stops,
        fleet,
        matrix,
        exploration_level=level,
        threads=2,
        time_limit_s=limit,
    )
    if plan.unassigned:
        return []
    return [[int(p.shipment_id[1:]) for p in route.stops] for route in plan.routes]


# --- PyVRP ---------------------------------------------------------------------------------


def solve_pyvrp(instance: Instance, limit: float, seed: int = 1) -> list[list[int]]:
    from pyvrp import Model  # an optional dependency: the bench group
    from pyvrp.stop import MaxRuntime

    table = instance.scaled()
    model = Model()
    places = (instance.depot, *instance.customers)
    locations = [model.add_location(x=p.x, y=p.y) for p in places]
    depot = model.add_depot(
        locations[0], tw_early=instance.depot.ready * SCALE, tw_late=instance.depot.due * SCALE
    )
    model.add_vehicle_type(
        num_available=FLEET,
        capacity=instance.capacity,
        start_depot=depot,
        end_depot=depot,
        fixed_cost=FIXED_UNITS * SCALE,
        tw_early=instance.depot.ready * SCALE,
        tw_late=instance.depot.due * SCALE,
    )
    for c, location in zip(instance.customers, locations[1:], strict=True):
        model.add_client(
            location,
            delivery=c.demand,
            service_duration=c.service * SCALE,
            tw_early=c.ready * SCALE,
            tw_late=c.due * SCALE,
        )
    for i, a in enumerate(locations):
        for j, b in enumerate(locations):
            if i != j:
                model.add_edge(a, b, distance=table[i][j], duration=table[i][j])
    result = model.solve(stop=MaxRuntime(limit), seed=seed, display=False)
    if not result.best.is_feasible():
        return []
    # a client activity's idx counts the clients from 0: customer idx + 1
    return [
        [a.idx + 1 for a in route.schedule() if a.is_client()] for route in result.best.routes()
    ]


# --- checking and reporting ----------------------------------------------------------------


def check(instance: Instance, routes: list[list[int]]) -> tuple[list[str], float]:
    """The violations of a plan and its distance in double precision."""
    problems: list[str] = []
    by_number = {c.number: c for c in instance.customers}
    table = instance.scaled()
    seen: list[int] = []
    total = 0.0
    for route in routes:
        load = sum(by_number[n].demand for n in route)
        if load > instance.capacity:
            problems.append(f"route {route[:3]}...: load {load} over {instance.capacity}")
        at, clock = 0, instance.depot.ready * SCALE
        for n in route:
            c = by_number[n]
            clock = max(clock + table[at][n], c.ready * SCALE)
            if clock > c.due * SCALE:
                problems.append(f"customer {n}: served at {clock / SCALE:.3f} after {c.due}")
            clock += c.service * SCALE
            total += instance.euclid(instance.customers[at - 1] if at else instance.depot, c)
            at = n
            seen.append(n)
        if route:
            clock += table[at][0]
            total += instance.euclid(instance.customers[at - 1], instance.depot)
            if clock > instance.depot.due * SCALE:
                problems.append(f"route ending at {at}: back after the depot closes")
    if sorted(seen) != sorted(by_number):
        problems.append("not every customer served exactly once")
    return problems, total


@dataclass(frozen=True)
class Row:
    instance: str
    family: str
    solver: str
    wall_s: float
    cpu_s: float
    vehicles: int | None  # None: no complete feasible plan
    bks_vehicles: int
    distance: float | None
    bks_distance: float
    violations: int

    @property
    def same_vehicles(self) -> bool:
        return self.vehicles is not None and self.vehicles <= self.bks_vehicles

    @property
    def gap_pct(self) -> float | None:
        if self.distance is None:
            return None
        return 100 * (self.distance - self.bks_distance) / self.bks_distance


def measure(instance: Instance, solver: str, limit: float, bks: dict[str, float]) -> Row:
    wall, cpu = time.perf_counter(), time.process_time()
    if solver == "minga":
        routes = solve_minga(instance, None, limit)
    elif solver == "vroom5":
        routes = solve_minga(instance, 5, limit)
    else:
        routes = solve_pyvrp(instance, limit)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if not routes:
        return Row(
            instance.name,
            instance.family,
            solver,
            wall,
            cpu,
            None,
            int(bks["solved_with_vehicles"]),
            None,
            bks["best_known_cost"],
            0,
        )
    problems, distance = check(instance, routes)
    return Row(
        instance.name,
        instance.family,
        solver,
        wall,
        cpu,
        len(routes),
        int(bks["solved_with_vehicles"]),
        distance,
        bks["best_known_cost"],
        len(problems),
    )


def line(row: Row) -> str:
    gap = "n/a" if row.gap_pct is None else f"{row.gap_pct:+.2f} %"
    vehicles = "incomplete" if row.vehicles is None else str(row.vehicles)
    distance = "n/a" if row.distance is None else f"{row.distance:.2f}"
    return (
        f"| {row.instance} | {row.solver} | {row.wall_s:.2f} | {row.cpu_s:.2f} | {vehicles} | "
        f"{row.bks_vehicles} | {distance} | {row.bks_distance:.2f} | {gap} | {row.violations} |"
    )


HEADER = (
    "| instance | solver | wall s | CPU s | vehicles | best-known vehicles | distance "
    "| best-known distance | gap | violations |\n"
    "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def summary(rows: Sequence[Row]) -> list[str]:
    out = [
        "| solver | class | instances with best-known vehicles | mean gap (all) "
        "| mean gap (same vehicles) | max wall s | mean CPU s |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for solver in SOLVERS:
        mine = [r for r in rows if r.solver == solver]
        if not mine:
            continue
        for family in (*CLASSES, "all"):
            group = [r for r in mine if family in ("all", r.family)]
            if not group:
                continue
            gaps = [r.gap_pct for r in group if r.gap_pct is not None]
            same = [r.gap_pct for r in group if r.same_vehicles and r.gap_pct is not None]
            out.append(
                f"| {solver} | {family} | {sum(r.same_vehicles for r in group)}/{len(group)} | "
                f"{_mean(gaps)} | {_mean(same)} | {max(r.wall_s for r in group):.2f} | "
                f"{statistics.fmean(r.cpu_s for r in group):.2f} |"
            )
    return out


def _mean(values: Sequence[float]) -> str:
    return f"{statistics.fmean(values):+.2f} %" if values else "n/a"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--instances", nargs="+", default=[c + n for c in CLASSES for n in NUMBERS])
    parser.add_argument("--solvers", nargs="+", choices=SOLVERS, default=list(SOLVERS))
    parser.add_argument(
        "--time-limit",
        type=float,
        default=Settings().route_time_limit_s,
        help="seconds per solve (default: the service's setting)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    bks = best_known()
    print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.2f}")
    print(
        f"minga: level {exploration_level_for(100)} for 100 stops, 2 threads; "
        f"time limit {args.time_limit:g} s for every solver"
    )
    print(HEADER)
    rows: list[Row] = []
    for k, name in enumerate(args.instances):
        instance = parse(DATA / f"{name}.txt")
        order = args.solvers[k % len(args.solvers) :] + args.solvers[: k % len(args.solvers)]
        for solver in order:
            row = measure(instance, solver, args.time_limit, bks[name])
            rows.append(row)
            print(line(row), flush=True)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for text in summary(rows):
        print(text)
    minga = [r for r in rows if r.solver == "minga"]
    if minga:
        print(
            f"minga: best-known vehicles on {sum(r.same_vehicles for r in minga)}/{len(minga)} "
            f"(target {TARGET_INSTANCES} of 18), slowest {max(r.wall_s for r in minga):.2f} s "
            f"(target {TARGET_SECONDS:g} s)"
        )
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=1))
    bad = [r for r in rows if r.violations]
    print(f"violations: {sum(r.violations for r in bad)} in {len(bad)} plans")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the delivery-day routes of the Latacunga collection centre.

Random but reproducible instances (a fixed seed per instance) around Latacunga: buyers in
Latacunga, Salcedo, Pujilí, Saquisilí and Lasso; restaurants with small loads and a
morning window, supermarkets with big loads and an early window, some with no window;
about 40 % of the shipments chilled. The fleet is sized to fit: half its vehicles chilled,
capacities 1.4 times the load they must carry. Distances are the estimate
(great circle x 1.3 at 35 km/h), the default of ``app.fulfilment.distances``.

Five instances (seeds 1-5) of 50 buyers with 5 vehicles and of 200 with 12; one of 500 with
25 (level 5 takes minutes there).
Each is solved by ``app.fulfilment.routing.solve`` at the production default exploration
level (``DEFAULT_EXPLORATION_LEVEL``), at level 4, and at ``MAX_EXPLORATION_LEVEL`` (5, the
highest VROOM documents), all with the production thread count (2). The plan at level 5 is
the reference ("best plan"); the gap of a level is ``(km - best km) / best km``, and a plan
that serves fewer stops than the reference has no gap (it is not comparable). Up to 200
stops every level is solved ``--repeat`` times (3): the table gives the best and the median
wall time, and the process CPU time of the best run (both solver threads count), because a
shared machine makes wall time noisy. Every repeat must give the same plan. Every plan goes
through an independent checker written here from the instance alone (not from the solver's
internals): each shipment at most once and either routed or reported, load <= capacity in
kilograms, chilled only on chilled vehicles, every service start inside its window, travel
times between stops respected, each vehicle out and back inside its shift, distances
re-added from the matrix.

    .venv/bin/python -m bench.routes                 # the table of docs/bench-routes.md
    .venv/bin/python -m bench.routes --sizes 200 --levels 0 1 2 3 4 5 --repeat 5

The target: 200 stops solved in under 3 s within 3 % of the best plan, no violation.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from app.core.config import Settings
from app.fulfilment.distances import Matrix, estimate_matrix
from app.fulfilment.routing import (
    DEFAULT_EXPLORATION_LEVEL,
    MAX_EXPLORATION_LEVEL,
    Plan,
    PlannedStop,
    Point,
    Route,
    Stop,
    Unassigned,
    Vehicle,
    grams_capacity,
    grams_load,
    solve,
)

DOC = Path(__file__).resolve().parents[1] / "docs" / "bench-routes.md"
DEPOT = Point(-0.9330, -78.6150)  # the collection centre, Latacunga
# (name, centre, spread in degrees (1 sigma), share of the buyers)
TOWNS = (
    ("Latacunga", Point(-0.9330, -78.6150), 0.012, 0.45),
    ("Salcedo", Point(-1.0450, -78.5900), 0.008, 0.18),
    ("Pujilí", Point(-0.9570, -78.6960), 0.007, 0.15),
    ("Saquisilí", Point(-0.8400, -78.6670), 0.006, 0.12),
    ("Lasso", Point(-0.7500, -78.6100), 0.006, 0.10),
)
FLEET = {50: 5, 200: 12, 500: 25}
# level 5 takes minutes on 500 stops: one instance of that size unless --seeds says otherwise
SEEDS = {50: (1, 2, 3, 4, 5), 200: (1, 2, 3, 4, 5), 500: (1,)}
HOUR = 3600
PRODUCTION_THREADS = 2
TARGET_GAP_PCT = 3.0
TARGET_STOPS = 200
TARGET_SECONDS = 3.0
SLACK = Decimal("1.4")  # fleet capacity / load of its kind: vehicles leave about 70 % full


@dataclass(frozen=True)
class Instance:
    name: str
    stops: tuple[Stop, ...]
    vehicles: tuple[Vehicle, ...]
    matrix: Matrix


def make_instance(buyers: int, vehicles: int, seed: int) -> Instance:
    """``buyers`` stops (one shipment each) and a fleet of ``vehicles`` sized to fit."""
    rng = random.Random(seed * 1_000_003 + buyers)  # noqa: S311 - reproducible data
    stops: list[Stop] = []
    for n in range(buyers):
        _, centre, spread, _ = rng.choices(TOWNS, weights=[t[3] for t in TOWNS])[0]
        point = Point(
            round(centre.latitude + rng.gauss(0, spread), 5),
            round(centre.longitude + rng.gauss(0, spread), 5),
        )
        supermarket = rng.random() < 0.15
        if supermarket:
            load = Decimal(rng.randint(8_000, 40_000)) / 100  # 80-400 kg
            window = rng.choice([(6 * HOUR, 10 * HOUR), (7 * HOUR, 11 * HOUR), None])
            service = rng.randint(15, 30) * 60
        else:
            load = Decimal(rng.randint(500, 6_000)) / 100  # 5-60 kg
            start = rng.choice([7, 8, 9, 10, 11, 13]) * HOUR
            window = rng.choice([(start, start + rng.choice([2, 3, 4]) * HOUR), None])
            service = rng.randint(5, 12) * 60
        stops.append(
            Stop(
                shipment_id=f"S{n:04d}",
                buyer_id=f"B{n:04d}",
                point=point,
                load_kg=load,
                chilled=rng.random() < 0.4,
                window=window,
                service_seconds=service,
            )
        )
    chilled_load = sum((s.load_kg for s in stops if s.chilled), Decimal(0))
    dry_load = sum((s.load_kg for s in stops if not s.chilled), Decimal(0))
    n_chilled = max(1, vehicles // 2)
    n_dry = vehicles - n_chilled
    fleet: list[Vehicle] = []
    for k in range(vehicles):
        chilled = k < n_chilled
        if chilled:
            need = chilled_load / n_chilled if n_dry else (chilled_load + dry_load) / n_chilled
        else:
            need = dry_load / n_dry
        capacity = Decimal(math.ceil(need * SLACK / 50) * 50)
        fleet.append(Vehicle(f"V{k:02d}", capacity, chilled, shift=(6 * HOUR, 18 * HOUR)))
    matrix = estimate_matrix([DEPOT, *(s.point for s in stops)])
    return Instance(f"{buyers}b/{vehicles}v/s{seed}", tuple(stops), tuple(fleet), matrix)


def check(instance: Instance, plan: Plan) -> list[str]:
    """Every violation of the plan, from the instance alone (empty when the plan is sound)."""
    problems: list[str] = []
    index = {s.shipment_id: i for i, s in enumerate(instance.stops, start=1)}
    stops = {s.shipment_id: s for s in instance.stops}
    fleet = {v.vehicle_id: v for v in instance.vehicles}
    seconds, metres = instance.matrix.durations_s, instance.matrix.distances_m
    seen: list[str] = []
    used: set[str] = set()
    total = 0
    for route in plan.routes:
        vehicle = fleet.get(route.vehicle_id)
        if vehicle is None or route.vehicle_id in used:
            problems.append(f"{route.vehicle_id}: unknown or used twice")
            continue
        used.add(route.vehicle_id)
        load = Decimal(0)
        where, free_at = 0, vehicle.shift[0]  # at the depot, free to leave at shift start
        distance = 0
        for planned in route.stops:
            stop = stops.get(planned.shipment_id)
            if stop is None:
                problems.append(f"{planned.shipment_id}: not a shipment of the instance")
                continue
            seen.append(stop.shipment_id)
            load += stop.load_kg
            if planned.load_kg != stop.load_kg or planned.buyer_id != stop.buyer_id:
                problems.append(f"{stop.shipment_id}: load or buyer changed")
            if stop.chilled and not vehicle.chilled:
                problems.append(f"{stop.shipment_id}: chilled goods on dry {vehicle.vehicle_id}")
            here = index[stop.shipment_id]
            arrival = free_at + seconds[where][here]
            if planned.eta_seconds < arrival:
                problems.append(f"{stop.shipment_id}: eta before the vehicle can be there")
            if stop.window and not stop.window[0] <= planned.eta_seconds <= stop.window[1]:
                problems.append(f"{stop.shipment_id}: eta {planned.eta_seconds} off {stop.window}")
            distance += metres[where][here]
            where, free_at = here, max(arrival, planned.eta_seconds) + stop.service_seconds
        distance += metres[where][0]
        if free_at + seconds[where][0] > vehicle.shift[1]:
            problems.append(f"{vehicle.vehicle_id}: back after the end of its shift")
        if load > vehicle.capacity_kg:
            problems.append(f"{vehicle.vehicle_id}: {load} kg over {vehicle.capacity_kg} kg")
        if distance != route.distance_m:
            problems.append(f"{vehicle.vehicle_id}: distance {route.distance_m} != {distance}")
        total += distance
    left = [u.shipment_id for u in plan.unassigned]
    if len(set(seen)) != len(seen):
        problems.append("a shipment is on two routes or twice on one")
    if set(seen) & set(left) or sorted(seen + left) != sorted(stops):
        problems.append("routed and unassigned shipments are not a partition of the instance")
    if total != plan.distance_m:
        problems.append(f"plan distance {plan.distance_m} != {total}")
    return problems


@dataclass(frozen=True)
class Row:
    instance: str
    buyers: int
    vehicles: int
    level: str  # a VROOM level, "minga" (the service's choice) or "pyvrp"
    wall_s: float  # best of the repeats: the machine is shared, the minimum is the signal
    median_s: float
    cpu_s: float  # process CPU time of the best run (both solver threads)
    km: float
    routes: int
    unassigned: int
    gap_pct: float | None  # None when the plan serves fewer stops than the reference
    violations: int

    def meets(self, seconds: float, gap_pct: float) -> bool:
        return (
            self.wall_s < seconds
            and self.gap_pct is not None
            and self.gap_pct <= gap_pct
            and self.violations == 0
        )


def timed_solve(instance: Instance, level: str, limit: float | None) -> tuple[float, float, Plan]:
    """Solve at a VROOM level, as the service does ("minga": its level for the size and its
    time limit), or with PyVRP ("pyvrp", under ``limit``)."""
    wall, cpu = time.perf_counter(), time.process_time()
    if level == "pyvrp":
        plan = solve_pyvrp(instance, limit or TARGET_SECONDS)
    else:
        plan = solve(
            DEPOT,
            instance.stops,
            instance.vehicles,
            instance.matrix,
            exploration_level=None if level == "minga" else int(level),
            threads=PRODUCTION_THREADS,
            time_limit_s=limit if level != str(MAX_EXPLORATION_LEVEL) else None,
        )
    return time.perf_counter() - wall, time.process_time() - cpu, plan


def solve_pyvrp(instance: Instance, limit: float, seed: int = 1) -> Plan:
    """The same day with PyVRP (one thread, fixed seed): chilled stops are kept off dry
    vehicles by a second travel profile in which they cannot be reached in time."""
    from pyvrp import Model  # an optional dependency: the bench group
    from pyvrp.stop import MaxRuntime

    far = 10**9
    seconds, metres = instance.matrix.durations_s, instance.matrix.distances_m
    model = Model()
    places = [model.add_location(x=DEPOT.longitude, y=DEPOT.latitude)] + [
        model.add_location(x=s.point.longitude, y=s.point.latitude) for s in instance.stops
    ]
    depot = model.add_depot(places[0])
    chilled_profile, dry_profile = model.add_profile(), model.add_profile()
    kinds = sorted({(v.chilled, v.shift, grams_capacity(v.capacity_kg)) for v in instance.vehicles})
    types = {}
    for chilled, shift, grams in kinds:
        count = sum(
            1
            for v in instance.vehicles
            if (v.chilled, v.shift, grams_capacity(v.capacity_kg)) == (chilled, shift, grams)
        )
        types[(chilled, shift, grams)] = model.add_vehicle_type(
            num_available=count,
            capacity=grams,
            start_depot=depot,
            end_depot=depot,
            tw_early=shift[0],
            tw_late=shift[1],
            profile=chilled_profile if chilled else dry_profile,
        )
    for stop, place in zip(instance.stops, places[1:], strict=True):
        early, late = stop.window or (0, 24 * HOUR)
        model.add_client(
            place,
            delivery=grams_load(stop.load_kg),
            service_duration=stop.service_seconds,
            tw_early=early,
            tw_late=late,
            required=False,
            prize=far,
        )
    chilled_at = {i for i, s in enumerate(instance.stops, start=1) if s.chilled}
    for i, a in enumerate(places):
        for j, b in enumerate(places):
            if i != j:
                model.add_edge(a, b, metres[i][j], seconds[i][j], profile=chilled_profile)
                blocked = j in chilled_at
                model.add_edge(
                    a,
                    b,
                    far if blocked else metres[i][j],
                    far if blocked else seconds[i][j],
                    profile=dry_profile,
                )
    result = model.solve(stop=MaxRuntime(limit), seed=seed, display=False)
    best = result.best
    # name the routes after the instance's vehicles of each kind, in order
    free = {
        k: [
            v for v in instance.vehicles if (v.chilled, v.shift, grams_capacity(v.capacity_kg)) == k
        ]
        for k in kinds
    }
    routes = []
    served = set()
    for route in best.routes():
        kind = kinds[route.vehicle_type()]
        vehicle = free[kind].pop(0)
        planned = []
        path = [0]
        for activity in route.schedule():
            if activity.is_client():
                index = activity.idx + 1
                stop = instance.stops[index - 1]
                planned.append(
                    PlannedStop(
                        stop.shipment_id, stop.buyer_id, int(activity.start_time), stop.load_kg
                    )
                )
                served.add(stop.shipment_id)
                path.append(index)
        path.append(0)
        distance = sum(metres[a][b] for a, b in itertools.pairwise(path))
        routes.append(
            Route(
                vehicle.vehicle_id,
                distance,
                int(route.duration()),
                tuple(planned),
                int(route.start_time()),
                sum((p.load_kg for p in planned), Decimal(0)),
            )
        )
    return Plan(
        routes=tuple(sorted(routes, key=lambda r: r.vehicle_id)),
        unassigned=tuple(
            Unassigned(s.shipment_id, "not_served")
            for s in instance.stops
            if s.shipment_id not in served
        ),
        distance_m=sum(r.distance_m for r in routes),
    )


def run(
    sizes: Sequence[int],
    seeds: Sequence[int] | None,
    levels: Sequence[str],
    repeat: int,
    limit: float | None,
) -> list[Row]:
    rows: list[Row] = []
    reference = str(MAX_EXPLORATION_LEVEL)
    for buyers in sizes:
        for seed in seeds or SEEDS.get(buyers, (1,)):
            instance = make_instance(buyers, FLEET.get(buyers, max(5, buyers // 20)), seed)
            measured: dict[str, tuple[list[tuple[float, float]], Plan]] = {}
            # the reference first, then the others interleaved repeat by repeat
            wall, cpu, best = timed_solve(instance, reference, None)
            measured[reference] = ([(wall, cpu)], best)
            others = [lv for lv in levels if lv != reference]
            plans: dict[str, list[Plan]] = {lv: [] for lv in others}
            times: dict[str, list[tuple[float, float]]] = {lv: [] for lv in others}
            runs = repeat if buyers <= TARGET_STOPS else 1
            for k in range(runs):
                for level in others[k % max(1, len(others)) :] + others[: k % max(1, len(others))]:
                    wall, cpu, plan = timed_solve(instance, level, limit)
                    times[level].append((wall, cpu))
                    plans[level].append(plan)
            for level in others:
                deterministic = all(p == plans[level][0] for p in plans[level])
                if not deterministic:
                    print(f"{instance.name} {level}: the repeats gave different plans")
                measured[level] = (times[level], plans[level][0])
            for level in levels:
                runs_of, plan = measured[level]
                wall, cpu = min(runs_of)
                comparable = len(plan.unassigned) <= len(best.unassigned)
                row = Row(
                    instance=instance.name,
                    buyers=buyers,
                    vehicles=len(instance.vehicles),
                    level=level,
                    wall_s=wall,
                    median_s=statistics.median(t[0] for t in runs_of),
                    cpu_s=cpu,
                    km=plan.distance_m / 1000,
                    routes=len(plan.routes),
                    unassigned=len(plan.unassigned),
                    gap_pct=(
                        100 * (plan.distance_m - best.distance_m) / best.distance_m
                        if comparable
                        else None
                    ),
                    violations=len(check(instance, plan)),
                )
                rows.append(row)
                print(_line(row), flush=True)
    return rows


HEADER = (
    "| instance | level | wall s (best) | wall s (median) | CPU s | km | routes | unassigned "
    "| gap to level 5 | violations |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def _line(row: Row) -> str:
    gap = "fewer served" if row.gap_pct is None else f"{row.gap_pct:+.2f} %"
    return (
        f"| {row.instance} | {row.level} | {row.wall_s:.2f} | {row.median_s:.2f} | "
        f"{row.cpu_s:.2f} | {row.km:.1f} | {row.routes} | {row.unassigned} | {gap} | "
        f"{row.violations} |"
    )


def verdict(
    rows: Sequence[Row], *, buyers: int = TARGET_STOPS, seconds: float = TARGET_SECONDS
) -> list[str]:
    """One line per level: does it meet the target on every instance of ``buyers`` stops?"""
    lines = []
    for level in sorted({r.level for r in rows if r.buyers == buyers}):
        mine = [r for r in rows if r.buyers == buyers and r.level == level]
        ok = [r for r in mine if r.meets(seconds, TARGET_GAP_PCT)]
        worst = max((r.gap_pct for r in mine if r.gap_pct is not None), default=None)
        lines.append(
            f"level {level}: {len(ok)}/{len(mine)} instances of {buyers} stops under "
            f"{seconds:g} s and within {TARGET_GAP_PCT:g} % (slowest best-of wall "
            f"{max(r.wall_s for r in mine):.2f} s, worst gap "
            f"{'n/a' if worst is None else f'{worst:+.2f} %'}, "
            f"{sum(r.violations for r in mine)} violations)"
        )
    return lines


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} logical CPUs, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 500])
    parser.add_argument(
        "--seeds", type=int, nargs="+", help="instances per size (default: 1-5; 1 for 500)"
    )
    parser.add_argument(
        "--levels",
        nargs="+",
        default=["minga", "pyvrp", str(MAX_EXPLORATION_LEVEL)],
        help="VROOM exploration levels, minga (the service's choice) and pyvrp; level 5 "
        "without a limit is the reference",
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=Settings().route_time_limit_s,
        help="seconds per solve but the reference (default: the service's setting)",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help=f"solves per level up to {TARGET_STOPS} stops"
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    print(f"machine: {machine()}; load average before: {os.getloadavg()[0]:.2f}")
    print(f"production default exploration level: {DEFAULT_EXPLORATION_LEVEL}")
    print(HEADER)
    rows = run(args.sizes, args.seeds, args.levels, args.repeat, args.time_limit)
    if args.json:
        args.json.write_text(json.dumps([r.__dict__ for r in rows], indent=1))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    for line in verdict(rows):
        print(line)
    bad = [r for r in rows if r.violations]
    print(f"violations: {sum(r.violations for r in bad)} in {len(bad)} plans")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

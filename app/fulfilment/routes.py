"""Planning the delivery day of a cycle: the centre's shipments, its vehicles, the buyers'
windows, handed to the pure solver (``routing.solve``) in a worker thread.

Load → solve → store (``app.flows.routes``): the problem is read in one short transaction,
distances and the solver run with no transaction open (on SQLite a write transaction holds
the whole database), and the plan is stored in a second one. That one locks the cycle's
shipments, reads the problem again and stores the plan only if the problem is the one that
was solved (shipments, their weights and crates, the vehicles and the buyers' windows);
otherwise it answers 409 and the centre plans again.

Crates: goods travel in crates of one order line each, a line taking ``ceil(its weight /
Settings.route_crate_kg)`` crates (the network's standard crate, 20 kg by default); a
shipment's crates are those of its lines, and a vehicle may limit how many it carries.

Distances come from one matrix over every place involved (the centre, the buyers, the
supplying associations): OSRM's road table when ``osrm_url`` is set, else the estimate from
coordinates. ``distance_km`` counts the routes plus each supplying association's trip to
the centre and back; ``direct_delivery_km`` is what the associations would have driven to
each of their buyers and back without the centre.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

import anyio.to_thread
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.models import Organization
from app.accounts.principal import Principal
from app.brands import names
from app.core.config import Settings
from app.events import service as events
from app.fulfilment import access, routing
from app.fulfilment.distances import Matrix, direct_delivery_km, estimate_matrix, osrm_matrix
from app.fulfilment.exceptions import (
    RouteInputsChanged,
    RouteNotFound,
    RoutePlanNotFound,
    ShipmentsChanged,
    ShipmentsNotBuilt,
)
from app.fulfilment.models import (
    GoodsReceipt,
    Lot,
    PlannedRoute,
    RoutePlan,
    RouteStop,
    Shipment,
    ShipmentItem,
    ShipmentLot,
    ShipmentStatus,
    Vehicle,
)
from app.fulfilment.schemas import RoutePlanPublic, RoutePublic, StopPublic, UnassignedPublic
from app.fulfilment.vehicles import windows_of, windows_of_row
from app.orders.models import OrderCycle

DAY_S = 24 * 3600


def crates_of_line(weight_kg: Decimal, crate_kg: Decimal) -> int:
    """The crates one order line fills: its weight over the crate's, rounded up (a line with
    goods but no weight still takes one)."""
    if weight_kg <= 0:
        return 0
    return max(1, math.ceil(weight_kg / crate_kg))


async def _crates(
    session: AsyncSession, shipment_ids: Sequence[str], crate_kg: Decimal
) -> dict[str, int]:
    counts: dict[str, int] = {}
    if not shipment_ids:
        return counts
    rows = await session.execute(
        select(col(ShipmentItem.shipment_id), col(ShipmentItem.weight_kg)).where(
            col(ShipmentItem.shipment_id).in_(list(shipment_ids)), col(ShipmentItem.quantity) > 0
        )
    )
    for shipment_id, weight in rows:
        counts[shipment_id] = counts.get(shipment_id, 0) + crates_of_line(weight, crate_kg)
    return counts


def _point(org: Organization) -> routing.Point:
    return routing.Point(org.latitude, org.longitude)


def _submatrix(matrix: Matrix, indices: Sequence[int]) -> Matrix:
    return Matrix(
        durations_s=[[matrix.durations_s[i][j] for j in indices] for i in indices],
        distances_m=[[matrix.distances_m[i][j] for j in indices] for i in indices],
    )


async def _matrix(settings: Settings, points: Sequence[routing.Point]) -> tuple[Matrix, str]:
    if settings.osrm_url:
        return await osrm_matrix(points, base_url=settings.osrm_url), "osrm"
    return (
        estimate_matrix(
            points,
            detour_factor=settings.route_detour_factor,
            speed_kmh=settings.route_speed_kmh,
        ),
        "estimate",
    )


@dataclass(frozen=True)
class RouteProblem:
    """Everything the solver needs, read in one short transaction."""

    cycle_id: str
    shipment_ids: frozenset[str]
    depot: routing.Point
    stops: list[routing.Stop]
    fleet: list[routing.Vehicle]
    places: list[routing.Point]
    others: list[routing.Point]
    supplier_legs: list[routing.Point]
    supplied_pairs: list[tuple[routing.Point, routing.Point]]


@dataclass(frozen=True)
class SolvedRoutes:
    problem: RouteProblem
    plan: routing.Plan
    source: str
    legs_m: int
    direct_m: int


async def load_problem(
    session: AsyncSession, principal: Principal, cycle_id: str, *, crate_kg: float = 20.0
) -> RouteProblem:
    cycle = await access.centre_cycle(session, principal, cycle_id)
    shipments = (
        await session.scalars(
            select(Shipment).where(Shipment.cycle_id == cycle.id).order_by(col(Shipment.id))
        )
    ).all()
    if not shipments:
        raise ShipmentsNotBuilt()
    to_deliver = [
        s for s in shipments if s.status == ShipmentStatus.packed and s.weight_kg > Decimal(0)
    ]
    receipts = await session.scalars(
        select(GoodsReceipt.association_id).where(GoodsReceipt.cycle_id == cycle.id).distinct()
    )
    suppliers = sorted(set(receipts))
    supplied_pairs = (
        await session.execute(
            select(Lot.association_id, Shipment.buyer_id)
            .join(ShipmentLot, col(ShipmentLot.lot_id) == col(Lot.id))
            .join(Shipment, col(Shipment.id) == col(ShipmentLot.shipment_id))
            .where(Shipment.cycle_id == cycle.id)
            .distinct()
        )
    ).all()
    org_ids = {cycle.collection_centre_id, *suppliers, *(s.buyer_id for s in shipments)}
    orgs = {
        o.id: o
        for o in await session.scalars(
            select(Organization).where(col(Organization.id).in_(org_ids))
        )
    }
    windows = await windows_of(session, [s.buyer_id for s in to_deliver])
    crates = await _crates(session, [s.id for s in to_deliver], Decimal(str(crate_kg)))
    vehicles = (
        await session.scalars(
            select(Vehicle)
            .where(Vehicle.collection_centre_id == cycle.collection_centre_id, col(Vehicle.active))
            .order_by(col(Vehicle.id))
        )
    ).all()

    depot = _point(orgs[cycle.collection_centre_id])
    places = [depot, *(_point(orgs[s.buyer_id]) for s in to_deliver)]
    others = sorted(
        {_point(o) for o in orgs.values()} - set(places), key=lambda p: (p.latitude, p.longitude)
    )
    stops = []
    for shipment in to_deliver:
        window = windows.get(shipment.buyer_id)
        spans = tuple((a * 60, b * 60) for a, b in windows_of_row(window))
        stops.append(
            routing.Stop(
                shipment_id=shipment.id,
                buyer_id=shipment.buyer_id,
                point=_point(orgs[shipment.buyer_id]),
                load_kg=shipment.weight_kg,
                chilled=shipment.chilled,
                windows=() if spans == ((0, DAY_S),) else spans,
                service_seconds=(window.service_minutes if window else 10) * 60,
                crates=crates.get(shipment.id, 0),
            )
        )
    fleet = [
        routing.Vehicle(
            v.id,
            v.capacity_kg,
            v.chilled,
            (v.shift_start_min * 60, v.shift_end_min * 60),
            capacity_crates=v.capacity_crates,
            fixed_cost=v.fixed_cost_cents,
            cost_per_km=v.cost_per_km_cents,
            max_route_s=None if v.max_route_minutes is None else v.max_route_minutes * 60,
            break_window=(
                None
                if v.break_start_min is None or v.break_end_min is None
                else (v.break_start_min * 60, v.break_end_min * 60)
            ),
            break_seconds=v.break_minutes * 60,
        )
        for v in vehicles
    ]
    return RouteProblem(
        cycle_id=cycle.id,
        shipment_ids=frozenset(s.id for s in shipments),
        depot=depot,
        stops=stops,
        fleet=fleet,
        places=places,
        others=others,
        supplier_legs=[_point(orgs[a]) for a in suppliers],
        supplied_pairs=[(_point(orgs[a]), _point(orgs[b])) for a, b in sorted(supplied_pairs)],
    )


async def solve(
    settings: Settings, problem: RouteProblem, *, time_limit_s: float | None = None
) -> SolvedRoutes:
    """The distances (OSRM or coordinates) and the solver, with no transaction open; the
    search stops after ``time_limit_s`` (by default the setting ``route_time_limit_s``)."""
    matrix, source = await _matrix(settings, problem.places + problem.others)
    where = {p: i for i, p in reversed(list(enumerate(problem.places + problem.others)))}

    def measured(points: Sequence[routing.Point]) -> Matrix:
        return _submatrix(matrix, [where[p] for p in points])

    plan = await anyio.to_thread.run_sync(
        partial(
            routing.solve,
            problem.depot,
            problem.stops,
            problem.fleet,
            measured(problem.places),
            time_limit_s=time_limit_s or settings.route_time_limit_s,
        )
    )
    legs_km = direct_delivery_km(
        [(point, problem.depot) for point in problem.supplier_legs], matrix_fn=measured
    )
    direct_km = direct_delivery_km(problem.supplied_pairs, matrix_fn=measured)
    return SolvedRoutes(
        problem, plan, source, legs_m=round(legs_km * 1000), direct_m=round(direct_km * 1000)
    )


async def store(
    session: AsyncSession,
    principal: Principal,
    solved: SolvedRoutes,
    *,
    now: datetime,
    crate_kg: float = 20.0,
) -> RoutePlan:
    """Store a plan solved outside the transaction, if the problem is still the one it was
    solved for: the shipments (they are rebuilt until the first is delivered), their weights
    and crates, the vehicles and the buyers' windows; 409 if not. The cycle's shipments are
    locked first, so a rebuild waits for this short transaction."""
    cycle = await access.centre_cycle(session, principal, solved.problem.cycle_id)
    current = set(
        await session.scalars(
            select(Shipment.id)
            .where(Shipment.cycle_id == cycle.id, Shipment.status == ShipmentStatus.packed)
            .with_for_update()
        )
    )
    planned = {s.shipment_id for s in solved.problem.stops}
    if not planned <= current:
        raise ShipmentsChanged()
    again = await load_problem(session, principal, cycle.id, crate_kg=crate_kg)
    if again.stops != solved.problem.stops or again.shipment_ids != solved.problem.shipment_ids:
        raise ShipmentsChanged()
    if again.fleet != solved.problem.fleet or again.depot != solved.problem.depot:
        raise RouteInputsChanged()
    return await _store(
        session,
        principal,
        cycle,
        solved.plan,
        solved.problem.stops,
        depot=solved.problem.depot,
        source=solved.source,
        legs_m=solved.legs_m,
        direct_m=solved.direct_m,
        now=now,
    )


async def _store(
    session: AsyncSession,
    principal: Principal,
    cycle: OrderCycle,
    plan: routing.Plan,
    stops: Sequence[routing.Stop],
    *,
    depot: routing.Point,
    source: str,
    legs_m: int,
    direct_m: int,
    now: datetime,
) -> RoutePlan:
    """Replace the cycle's stored plan with this one."""
    await session.execute(delete(RoutePlan).where(col(RoutePlan.cycle_id) == cycle.id))
    buyer_of = {s.shipment_id: s.buyer_id for s in stops}
    point_of = {s.shipment_id: s.point for s in stops}
    row = RoutePlan(
        cycle_id=cycle.id,
        collection_centre_id=cycle.collection_centre_id,
        depot_latitude=depot.latitude,
        depot_longitude=depot.longitude,
        matrix_source=source,
        routed_m=plan.distance_m,
        cost_cents=plan.cost,
        legs_to_centre_m=legs_m,
        direct_delivery_m=direct_m,
        unassigned=[
            {
                "shipment_id": u.shipment_id,
                "buyer_id": buyer_of.get(u.shipment_id),
                "reason": u.reason,
            }
            for u in plan.unassigned
        ],
        planned_at=now,
        planned_by_user_id=principal.user_id,
    )
    session.add(row)
    await session.flush()  # no ORM relationships: parents are written first by hand
    planned_stops: list[RouteStop] = []
    for position, route in enumerate(plan.routes):
        planned = PlannedRoute(
            plan_id=row.id,
            vehicle_id=route.vehicle_id,
            position=position,
            distance_m=route.distance_m,
            duration_s=route.duration_s,
            departure_s=route.departure_s,
            load_kg=route.load_kg,
            crates=route.crates,
            cost_cents=route.cost,
            break_start_s=route.break_start_s,
        )
        session.add(planned)
        for sequence, stop in enumerate(route.stops, start=1):
            point = point_of[stop.shipment_id]
            planned_stops.append(
                RouteStop(
                    route_id=planned.id,
                    shipment_id=stop.shipment_id,
                    buyer_id=stop.buyer_id,
                    sequence=sequence,
                    eta_seconds=stop.eta_seconds,
                    load_kg=stop.load_kg,
                    crates=stop.crates,
                    latitude=point.latitude,
                    longitude=point.longitude,
                )
            )
    await session.flush()
    session.add_all(planned_stops)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="routes.plan",
        object_type="order_cycle",
        object_id=cycle.id,
        organization_id=cycle.collection_centre_id,
        changes={
            "routes": len(plan.routes),
            "unassigned": len(plan.unassigned),
            "routed_m": plan.distance_m,
            "matrix_source": source,
        },
    )
    return row


async def stored_plan(session: AsyncSession, principal: Principal, cycle_id: str) -> RoutePlan:
    """The plan, for the centre's staff and the network."""
    cycle = await access.centre_cycle(session, principal, cycle_id, network_too=True)
    plan = await session.scalar(select(RoutePlan).where(RoutePlan.cycle_id == cycle.id))
    if plan is None:
        raise RoutePlanNotFound()
    return plan


def _km(metres: int) -> float:
    return round(metres / 1000, 3)


async def plan_public(session: AsyncSession, plan: RoutePlan) -> RoutePlanPublic:
    """The stored plan, with ETAs in the network's time zone and each stop's buyer with how
    to reach it (five queries)."""
    cycle = await session.get(OrderCycle, plan.cycle_id)
    assert cycle is not None
    midnight = datetime.combine(cycle.delivery_date, time(0), tzinfo=ZoneInfo(cycle.timezone))
    routes = (
        await session.scalars(
            select(PlannedRoute)
            .where(PlannedRoute.plan_id == plan.id)
            .order_by(col(PlannedRoute.position))
        )
    ).all()
    stops: dict[str, list[RouteStop]] = {r.id: [] for r in routes}
    for stop in await session.scalars(
        select(RouteStop)
        .where(col(RouteStop.route_id).in_(list(stops)))
        .order_by(col(RouteStop.sequence))
    ):
        stops[stop.route_id].append(stop)
    vehicles = {
        v.id: v
        for v in await session.scalars(
            select(Vehicle).where(col(Vehicle.id).in_([r.vehicle_id for r in routes]))
        )
    }

    buyers = await names.organizations(
        session,
        [s.buyer_id for group in stops.values() for s in group]
        + [u.get("buyer_id") for u in plan.unassigned],
    )

    def at(seconds: int) -> datetime:
        return midnight + timedelta(seconds=seconds)

    def stop_public(s: RouteStop) -> StopPublic:
        buyer = buyers.get(s.buyer_id, names.UNKNOWN_ORG)
        return StopPublic(
            shipment_id=s.shipment_id,
            buyer_id=s.buyer_id,
            buyer_name=buyer.name,
            parish=buyer.parish,
            address=buyer.address,
            phone=buyer.phone,
            delivery_notes=buyer.delivery_notes,
            sequence=s.sequence,
            eta=at(s.eta_seconds),
            load_kg=s.load_kg,
            crates=s.crates,
            latitude=s.latitude,
            longitude=s.longitude,
        )

    def unassigned_public(u: dict[str, Any]) -> UnassignedPublic:
        buyer_id = u.get("buyer_id")
        name = buyers[buyer_id].name if buyer_id in buyers else None
        return UnassignedPublic(**u, buyer_name=name)

    routed = sum(r.distance_m for r in routes)
    return RoutePlanPublic(
        cycle_id=plan.cycle_id,
        planned_at=plan.planned_at,
        matrix_source=plan.matrix_source,
        routes=[
            RoutePublic(
                id=r.id,
                vehicle_id=r.vehicle_id,
                vehicle_name=vehicles[r.vehicle_id].name,
                chilled=vehicles[r.vehicle_id].chilled,
                distance_km=_km(r.distance_m),
                duration_minutes=round(r.duration_s / 60),
                departure=at(r.departure_s),
                load_kg=r.load_kg,
                crates=r.crates,
                cost_cents=r.cost_cents,
                break_start=None if r.break_start_s is None else at(r.break_start_s),
                break_minutes=vehicles[r.vehicle_id].break_minutes
                if r.break_start_s is not None
                else 0,
                stops=[stop_public(s) for s in stops[r.id]],
            )
            for r in routes
        ],
        unassigned=[unassigned_public(u) for u in plan.unassigned],
        distance_km=_km(routed + plan.legs_to_centre_m),
        routed_km=_km(routed),
        cost_cents=plan.cost_cents,
        legs_to_centre_km=_km(plan.legs_to_centre_m),
        direct_delivery_km=_km(plan.direct_delivery_m),
        saved_km=_km(plan.direct_delivery_m - routed - plan.legs_to_centre_m),
    )


def geojson(plan: RoutePlanPublic, depot: tuple[float, float]) -> dict[str, Any]:
    """The plan as a GeoJSON FeatureCollection: the centre, a line per route, a point per stop
    (coordinates are [longitude, latitude], RFC 7946)."""
    lat, lon = depot
    features: list[dict[str, Any]] = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"kind": "depot", "cycle_id": plan.cycle_id},
        }
    ]
    for route in plan.routes:
        path = [[lon, lat], *([s.longitude, s.latitude] for s in route.stops), [lon, lat]]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": path},
                "properties": {
                    "kind": "route",
                    "vehicle_id": route.vehicle_id,
                    "vehicle_name": route.vehicle_name,
                    "chilled": route.chilled,
                    "distance_km": route.distance_km,
                    "stops": len(route.stops),
                },
            }
        )
        for stop in route.stops:
            features.append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [stop.longitude, stop.latitude]},
                    "properties": {
                        "kind": "stop",
                        "vehicle_id": route.vehicle_id,
                        "shipment_id": stop.shipment_id,
                        "buyer_id": stop.buyer_id,
                        "buyer_name": stop.buyer_name,
                        "sequence": stop.sequence,
                        "eta": stop.eta.isoformat(),
                        "load_kg": f"{stop.load_kg:.3f}",
                    },
                }
            )
    return {"type": "FeatureCollection", "features": features}


async def depart(
    session: AsyncSession, principal: Principal, route_id: str, *, now: datetime
) -> tuple[PlannedRoute, int]:
    """The vehicle leaves the centre: each of its buyers is told when to expect it (once; a
    second departure of the same route changes nothing). Answers the route and its stops."""
    found = (
        await session.execute(
            select(PlannedRoute, RoutePlan)
            .join(RoutePlan, col(RoutePlan.id) == col(PlannedRoute.plan_id))
            .where(PlannedRoute.id == route_id)
            .with_for_update(of=PlannedRoute)
        )
    ).first()
    if found is None:
        raise RouteNotFound()
    route, plan = found
    cycle = await access.centre_cycle(session, principal, plan.cycle_id)
    stops = list(
        await session.scalars(
            select(RouteStop)
            .where(RouteStop.route_id == route.id)
            .order_by(col(RouteStop.sequence))
        )
    )
    if route.departed_at is not None:
        return route, len(stops)
    route.departed_at = now
    vehicle = await session.get(Vehicle, route.vehicle_id)
    midnight = datetime.combine(cycle.delivery_date, time(0), tzinfo=ZoneInfo(cycle.timezone))
    for stop in stops:
        await events.emit(
            session,
            "shipment.dispatched",
            key=stop.shipment_id,
            audience=[stop.buyer_id, cycle.collection_centre_id, cycle.network_id],
            payload={
                "shipment_id": stop.shipment_id,
                "buyer_id": stop.buyer_id,
                "cycle_id": cycle.id,
                "route_id": route.id,
                "vehicle_name": vehicle.name if vehicle else "",
                "sequence": stop.sequence,
                "departed_at": now,
                "eta": midnight + timedelta(seconds=stop.eta_seconds),
                "load_kg": stop.load_kg,
            },
        )
    await session.flush()
    return route, len(stops)

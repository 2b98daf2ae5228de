"""The centre's fleet and the buyers' delivery windows: the constraints of the route plan."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.exceptions import OrganizationNotFound
from app.accounts.models import Organization, OrganizationKind, Role
from app.accounts.principal import Principal
from app.core.pagination import PageParams, paginate
from app.fulfilment.exceptions import InvalidDeliveryWindow, InvalidVehicle
from app.fulfilment.models import DeliveryWindow, Vehicle
from app.fulfilment.schemas import (
    DeliveryWindowIn,
    DeliveryWindowPublic,
    VehicleCreate,
    VehiclePublic,
    WindowPublic,
    clock,
    minutes_of,
)

DEFAULT_SERVICE_MINUTES = 10


async def _organization(
    session: AsyncSession, principal: Principal, organization_id: str, kind: str, role: Role
) -> Organization:
    principal.require_member(organization_id, role)
    org = await session.get(Organization, organization_id)
    if org is None or org.kind != kind:
        raise OrganizationNotFound()
    return org


async def create_vehicle(
    session: AsyncSession, principal: Principal, centre_id: str, data: VehicleCreate
) -> Vehicle:
    centre = await _organization(
        session, principal, centre_id, OrganizationKind.collection_centre, Role.admin
    )
    start, end = minutes_of(data.shift_start), minutes_of(data.shift_end)
    if end <= start:
        raise InvalidVehicle(
            "The shift must end after it starts",
            errors=[{"field": "shift_end", "detail": "must be after shift_start"}],
        )
    break_start, break_end, break_minutes = _break_of(data, start, end)
    if data.max_route_minutes is not None and data.max_route_minutes > end - start:
        raise InvalidVehicle(
            "The maximum route duration cannot be longer than the shift",
            errors=[{"field": "max_route_minutes", "detail": "longer than the shift"}],
        )
    vehicle = Vehicle(
        collection_centre_id=centre.id,
        name=data.name,
        capacity_kg=data.capacity_kg,
        chilled=data.chilled,
        shift_start_min=start,
        shift_end_min=end,
        capacity_crates=data.capacity_crates,
        fixed_cost_cents=data.fixed_cost_cents,
        cost_per_km_cents=data.cost_per_km_cents,
        max_route_minutes=data.max_route_minutes,
        break_start_min=break_start,
        break_end_min=break_end,
        break_minutes=break_minutes,
    )
    session.add(vehicle)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="vehicle.create",
        object_type="vehicle",
        object_id=vehicle.id,
        organization_id=centre.id,
        changes=audit.diff(None, data.model_dump()),
    )
    return vehicle


def _break_of(data: VehicleCreate, start: int, end: int) -> tuple[int | None, int | None, int]:
    """The break as stored: all three fields or none, starting and ending inside the shift."""
    given = [data.break_start is not None, data.break_end is not None, data.break_minutes]
    if not any(given):
        return None, None, 0
    if not all(given):
        raise InvalidVehicle(
            "A break needs its start, its end and its minutes",
            errors=[
                {
                    "field": "break_minutes",
                    "detail": "give break_start, break_end and break_minutes together",
                }
            ],
        )
    assert data.break_start is not None
    assert data.break_end is not None
    assert data.break_minutes
    opens, closes = minutes_of(data.break_start), minutes_of(data.break_end)
    if closes < opens:
        raise InvalidVehicle(
            "The break window must not end before it starts",
            errors=[{"field": "break_end", "detail": "before break_start"}],
        )
    if opens < start or closes + data.break_minutes > end:
        raise InvalidVehicle(
            "The break must fit inside the shift",
            errors=[{"field": "break_start", "detail": "outside the shift"}],
        )
    return opens, closes, data.break_minutes


async def list_vehicles(
    session: AsyncSession, principal: Principal, centre_id: str, *, page: PageParams
) -> tuple[Sequence[Vehicle], str | None]:
    await _organization(
        session, principal, centre_id, OrganizationKind.collection_centre, Role.staff
    )
    stmt = select(Vehicle).where(Vehicle.collection_centre_id == centre_id)
    return await paginate(session, stmt, key=col(Vehicle.id), params=page)


def vehicle_public(vehicle: Vehicle) -> VehiclePublic:
    return VehiclePublic(
        id=vehicle.id,
        collection_centre_id=vehicle.collection_centre_id,
        name=vehicle.name,
        capacity_kg=vehicle.capacity_kg,
        chilled=vehicle.chilled,
        shift_start=clock(vehicle.shift_start_min),
        shift_end=clock(vehicle.shift_end_min),
        active=vehicle.active,
        created_at=vehicle.created_at,
        capacity_crates=vehicle.capacity_crates,
        fixed_cost_cents=vehicle.fixed_cost_cents,
        cost_per_km_cents=vehicle.cost_per_km_cents,
        max_route_minutes=vehicle.max_route_minutes,
        break_start=None if vehicle.break_start_min is None else clock(vehicle.break_start_min),
        break_end=None if vehicle.break_end_min is None else clock(vehicle.break_end_min),
        break_minutes=vehicle.break_minutes,
    )


def windows_of_row(window: DeliveryWindow | None) -> list[tuple[int, int]]:
    """Every window of a buyer, in minutes since midnight (a buyer without a row: all day)."""
    if window is None:
        return [(0, 24 * 60)]
    return [(window.opens_min, window.closes_min)] + [(a, b) for a, b in window.more_windows]


def window_public(buyer_id: str, window: DeliveryWindow | None) -> DeliveryWindowPublic:
    spans = windows_of_row(window)
    return DeliveryWindowPublic(
        buyer_id=buyer_id,
        opens=clock(spans[0][0]),
        closes=clock(spans[0][1]),
        service_minutes=DEFAULT_SERVICE_MINUTES if window is None else window.service_minutes,
        windows=[WindowPublic(opens=clock(a), closes=clock(b)) for a, b in spans],
    )


def _windows_in(data: DeliveryWindowIn) -> list[tuple[int, int]]:
    """The windows asked for, checked: one form or the other, each closing after it opens,
    in order and apart."""
    if data.windows is not None:
        if data.opens is not None or data.closes is not None:
            raise InvalidDeliveryWindow(
                "Give opens and closes or windows, not both",
                errors=[{"field": "windows", "detail": "given with opens or closes"}],
            )
        spans = [(minutes_of(w.opens), minutes_of(w.closes)) for w in data.windows]
        fields = [f"windows.{k}.closes" for k in range(len(spans))]
    elif data.opens is not None and data.closes is not None:
        spans, fields = [(minutes_of(data.opens), minutes_of(data.closes))], ["closes"]
    else:
        raise InvalidDeliveryWindow(
            "Give opens and closes, or windows",
            errors=[{"field": "opens", "detail": "required without windows"}],
        )
    for (opens, closes), field in zip(spans, fields, strict=True):
        if closes <= opens:
            raise InvalidDeliveryWindow(
                "The window must close after it opens",
                errors=[{"field": field, "detail": "must be after opens"}],
            )
    for k, ((_, closes), (opens, _)) in enumerate(itertools.pairwise(spans), start=1):
        if opens <= closes:
            raise InvalidDeliveryWindow(
                "The windows must be in order and must not overlap",
                errors=[{"field": f"windows.{k}.opens", "detail": "not after the window before"}],
            )
    return spans


async def get_delivery_window(
    session: AsyncSession, principal: Principal, buyer_id: str
) -> DeliveryWindowPublic:
    await _organization(session, principal, buyer_id, OrganizationKind.buyer, Role.staff)
    return window_public(buyer_id, await session.get(DeliveryWindow, buyer_id))


async def set_delivery_window(
    session: AsyncSession,
    principal: Principal,
    buyer_id: str,
    data: DeliveryWindowIn,
    *,
    now: datetime,
) -> DeliveryWindowPublic:
    await _organization(session, principal, buyer_id, OrganizationKind.buyer, Role.admin)
    spans = _windows_in(data)
    window = await session.get(DeliveryWindow, buyer_id)
    before = window_public(buyer_id, window).model_dump()
    if window is None:
        window = DeliveryWindow(buyer_id=buyer_id)
        session.add(window)
    window.opens_min, window.closes_min = spans[0]
    window.more_windows = [[a, b] for a, b in spans[1:]]
    window.service_minutes = data.service_minutes
    window.updated_at = now
    await session.flush()
    after = window_public(buyer_id, window)
    await audit.record(
        session,
        principal,
        action="delivery_window.set",
        object_type="delivery_window",
        object_id=buyer_id,
        organization_id=buyer_id,
        changes=audit.diff(before, after.model_dump()),
    )
    return after


async def windows_of(session: AsyncSession, buyer_ids: Sequence[str]) -> dict[str, DeliveryWindow]:
    return {
        w.buyer_id: w
        for w in await session.scalars(
            select(DeliveryWindow).where(col(DeliveryWindow.buyer_id).in_(list(buyer_ids)))
        )
    }

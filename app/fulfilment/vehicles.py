"""The centre's fleet and the buyers' delivery windows: the constraints of the route plan."""

from __future__ import annotations

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
    vehicle = Vehicle(
        collection_centre_id=centre.id,
        name=data.name,
        capacity_kg=data.capacity_kg,
        chilled=data.chilled,
        shift_start_min=start,
        shift_end_min=end,
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
    )


def window_public(buyer_id: str, window: DeliveryWindow | None) -> DeliveryWindowPublic:
    if window is None:
        return DeliveryWindowPublic(
            buyer_id=buyer_id,
            opens="00:00",
            closes="24:00",
            service_minutes=DEFAULT_SERVICE_MINUTES,
        )
    return DeliveryWindowPublic(
        buyer_id=buyer_id,
        opens=clock(window.opens_min),
        closes=clock(window.closes_min),
        service_minutes=window.service_minutes,
    )


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
    opens, closes = minutes_of(data.opens), minutes_of(data.closes)
    if closes <= opens:
        raise InvalidDeliveryWindow(
            "The window must close after it opens",
            errors=[{"field": "closes", "detail": "must be after opens"}],
        )
    window = await session.get(DeliveryWindow, buyer_id)
    before = window_public(buyer_id, window).model_dump()
    if window is None:
        window = DeliveryWindow(buyer_id=buyer_id)
        session.add(window)
    window.opens_min, window.closes_min = opens, closes
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

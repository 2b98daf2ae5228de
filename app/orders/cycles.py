"""Order cycles of a network: scheduled → open → closed → settled, at their own times.

A cycle opens and closes by itself: the in-process scheduler and ``minga cycles tick`` both
call ``tick``. Every state change is one conditional ``UPDATE … WHERE status = …``, so with
several API workers a due cycle changes state exactly once, whoever gets there first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import exists, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.exceptions import NetworkNotFound
from app.accounts.models import NetworkAssociation, Organization, OrganizationKind, Role
from app.accounts.principal import Principal
from app.brands import names
from app.core.config import Settings
from app.core.i18n import _l
from app.core.pagination import PageParams, paginate
from app.events import service as events
from app.events.models import DomainEvent
from app.orders.exceptions import CycleNotFound, CycleNotOpen, InvalidCycle
from app.orders.models import (
    DEFAULT_FLOOR_PERCENT,
    CycleStatus,
    Order,
    OrderCycle,
    OrderEvent,
)
from app.orders.schemas import CycleCreate, CyclePublic

_table: Any = OrderCycle.__table__  # type: ignore[attr-defined]


def in_zone(moment: datetime, zone: str) -> datetime:
    """An aware moment; a naive one is read as wall-clock time in ``zone``."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=ZoneInfo(zone))
    return moment


def event(
    session: AsyncSession,
    type_: str,
    *,
    cycle_id: str | None = None,
    order_id: str | None = None,
    actor: Principal | None = None,
    **data: Any,
) -> None:
    session.add(
        OrderEvent(
            cycle_id=cycle_id,
            order_id=order_id,
            type=type_,
            actor_user_id=actor.user_id if actor else None,
            data=data,
        )
    )


async def create_cycle(
    session: AsyncSession, principal: Principal, data: CycleCreate
) -> OrderCycle:
    principal.require_member(data.network_id, Role.admin, not_found=NetworkNotFound)
    orgs = {
        o.id: o
        for o in await session.scalars(
            select(Organization).where(
                col(Organization.id).in_([data.network_id, data.collection_centre_id])
            )
        )
    }
    network = orgs.get(data.network_id)
    if network is None or network.kind != OrganizationKind.network:
        raise NetworkNotFound()
    centre = orgs.get(data.collection_centre_id)
    errors = []
    if centre is None or centre.kind != OrganizationKind.collection_centre:
        errors.append({"field": "collection_centre_id", "detail": "not a collection centre"})
    zone = network.timezone or "UTC"
    opens_at, closes_at = in_zone(data.opens_at, zone), in_zone(data.closes_at, zone)
    if closes_at <= opens_at:
        errors.append({"field": "closes_at", "detail": "must be after opens_at"})
    if data.delivery_date < closes_at.astimezone(ZoneInfo(zone)).date():
        errors.append({"field": "delivery_date", "detail": "must not be before the cut-off day"})
    if errors:
        raise InvalidCycle(errors[0]["detail"], errors=errors)
    cycle = OrderCycle(
        network_id=network.id,
        collection_centre_id=data.collection_centre_id,
        opens_at=opens_at,
        closes_at=closes_at,
        delivery_date=data.delivery_date,
        timezone=zone,
        currency=network.currency or "USD",
        allocation_policy=data.allocation_policy,
        allocation_floor_percent=next(
            p
            for p in (
                data.allocation_floor_percent,
                network.allocation_floor_percent,
                DEFAULT_FLOOR_PERCENT,
            )
            if p is not None
        ),
    )
    session.add(cycle)
    await session.flush()
    event(session, "cycle.created", cycle_id=cycle.id, actor=principal)
    await audit.record(
        session,
        principal,
        action="cycle.create",
        object_type="order_cycle",
        object_id=cycle.id,
        organization_id=network.id,
        changes=audit.diff(
            None,
            {
                "opens_at": opens_at,
                "closes_at": closes_at,
                "delivery_date": data.delivery_date,
                "allocation_policy": data.allocation_policy,
                "allocation_floor_percent": cycle.allocation_floor_percent,
            },
        ),
    )
    return cycle


async def get_cycle(session: AsyncSession, cycle_id: str) -> OrderCycle:
    """Cycles are public to every signed-in user: buyers need their dates."""
    cycle = await session.get(OrderCycle, cycle_id)
    if cycle is None:
        raise CycleNotFound()
    return cycle


async def list_cycles(
    session: AsyncSession,
    *,
    network_id: str | None,
    status: CycleStatus | None,
    page: PageParams,
) -> tuple[Sequence[OrderCycle], str | None]:
    stmt = select(OrderCycle)
    if network_id is not None:
        stmt = stmt.where(OrderCycle.network_id == network_id)
    if status is not None:
        stmt = stmt.where(OrderCycle.status == status)
    return await paginate(session, stmt, key=col(OrderCycle.id), params=page)


async def locked_for_orders(session: AsyncSession, cycle_id: str) -> OrderCycle:
    """The cycle, re-read under a shared row lock for the rest of the transaction.

    Orders take it shared (they never wait for each other); closing the cycle updates the
    row, so it waits for the orders in flight, and orders after it see it closed. Without
    it an order committed during a close could stay out of the aggregation. (SQLite runs
    one writer at a time, so there the question never arises.)
    """
    cycle = await session.scalar(
        select(OrderCycle)
        .where(OrderCycle.id == cycle_id)
        .with_for_update(read=True)
        .execution_options(populate_existing=True)
    )
    if cycle is None:
        raise CycleNotFound()
    return cycle


def ensure_open(cycle: OrderCycle, now: datetime) -> None:
    """Orders go in while the cycle is open and its cut-off has not passed."""
    if cycle.status != CycleStatus.open or now >= cycle.closes_at:
        local = cycle.closes_at.astimezone(ZoneInfo(cycle.timezone))
        raise CycleNotOpen(
            _l(
                "The cycle is {status}; its cut-off is {cutoff} ({timezone})",
                status=cycle.status,
                cutoff=local.isoformat(),
                timezone=cycle.timezone,
            )
            if cycle.status == CycleStatus.open
            else _l("The cycle is {status}", status=cycle.status)
        )


async def transition(
    session: AsyncSession, cycle_id: str, source: CycleStatus, target: CycleStatus, now: datetime
) -> bool:
    """Move the cycle from ``source`` to ``target``; False when someone else already did."""
    values: dict[str, Any] = {"status": target}
    if target is CycleStatus.open:
        values["opened_at"] = now
    if target is CycleStatus.closed:
        values["closed_at"] = now
    result = await session.execute(
        update(_table).where(_table.c.id == cycle_id, _table.c.status == source).values(**values)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    event(session, f"cycle.{target}", cycle_id=cycle_id)
    cycle = await session.get(OrderCycle, cycle_id)
    if cycle is not None:
        await session.refresh(cycle)
        told = TOLD.get(target)
        if told is not None:
            await tell(session, told, cycle)
    return True


# the cycle's changes that people and integrators hear of (app/events)
TOLD = {
    CycleStatus.open: "cycle.opened",
    CycleStatus.closed: "cycle.closed",
    CycleStatus.settled: "cycle.settled",
}


async def remind_closing(session: AsyncSession, settings: Settings, now: datetime) -> int:
    """Tell the buyers of every open cycle that closes within the reminder's hours (once per
    cycle: the event's key is the cycle)."""
    soon = now + timedelta(hours=settings.cycle_closing_reminder_hours)
    due = await session.scalars(
        select(OrderCycle).where(
            OrderCycle.status == CycleStatus.open,
            col(OrderCycle.closes_at) > now,
            col(OrderCycle.closes_at) <= soon,
            ~exists().where(
                col(DomainEvent.type) == "cycle.closing", col(DomainEvent.key) == OrderCycle.id
            ),
        )
    )
    told = 0
    for cycle in due:
        await tell(session, "cycle.closing", cycle, hours=settings.cycle_closing_reminder_hours)
        told += 1
    return told


async def audience(session: AsyncSession, cycle: OrderCycle) -> list[str]:
    """Who may hear of a cycle: its network, centre and associations, and the buyers who
    order from the network."""
    associations = await session.scalars(
        select(NetworkAssociation.association_id).where(
            NetworkAssociation.network_id == cycle.network_id
        )
    )
    buyers = await session.scalars(
        select(col(Order.buyer_id))
        .join(OrderCycle, col(OrderCycle.id) == col(Order.cycle_id))
        .where(OrderCycle.network_id == cycle.network_id)
        .distinct()
    )
    return [cycle.network_id, cycle.collection_centre_id, *associations, *buyers]


async def tell(session: AsyncSession, type_: str, cycle: OrderCycle, **extra: Any) -> None:
    await events.emit(
        session,
        type_,
        key=cycle.id,
        audience=await audience(session, cycle),
        payload={
            "cycle_id": cycle.id,
            "network_id": cycle.network_id,
            "status": cycle.status,
            "opens_at": cycle.opens_at,
            "closes_at": cycle.closes_at,
            "delivery_date": cycle.delivery_date,
        }
        | extra,
    )


CycleHook = Callable[[AsyncSession, Settings, OrderCycle, datetime], Awaitable[None]]
TickHook = Callable[[async_sessionmaker[AsyncSession], Settings], Awaitable[object]]


@dataclass
class CycleHooks:
    """What runs when a cycle opens (standing orders place themselves) and when its cut-off
    passes (closing and aggregating). Wired once, explicitly, by ``app.flows.wiring``."""

    on_open: list[CycleHook] = field(default_factory=list)
    closer: CycleHook | None = None
    # work each tick does after the cycles (resuming settlements that stopped half-way)
    every_tick: list[TickHook] = field(default_factory=list)


hooks = CycleHooks()


class NotWired(RuntimeError):
    """A cut-off passed and nothing was wired to close the cycle: refuse, rather than close
    it without aggregating its orders."""


async def open_cycle(
    session: AsyncSession, settings: Settings, cycle: OrderCycle, now: datetime
) -> bool:
    if not await transition(session, cycle.id, CycleStatus.scheduled, CycleStatus.open, now):
        return False
    for hook in hooks.on_open:
        await hook(session, settings, cycle, now)
    return True


async def due_cycles(session: AsyncSession, now: datetime) -> tuple[list[str], list[str]]:
    """Ids of the cycles to open and of those past their cut-off."""
    to_open = await session.scalars(
        select(OrderCycle.id).where(
            OrderCycle.status == CycleStatus.scheduled, col(OrderCycle.opens_at) <= now
        )
    )
    to_close = await session.scalars(
        select(OrderCycle.id).where(
            OrderCycle.status == CycleStatus.open, col(OrderCycle.closes_at) <= now
        )
    )
    return list(to_open), list(to_close)


async def run_cut_off(
    session: AsyncSession, settings: Settings, cycle: OrderCycle, now: datetime
) -> None:
    """Close a cycle past its cut-off with the wired closer (aggregation, through flows)."""
    if hooks.closer is None:
        raise NotWired("no cycle closer is wired: call app.flows.wiring.wire() at start-up")
    await hooks.closer(session, settings, cycle, now)


async def cycle_publics(session: AsyncSession, rows: Sequence[OrderCycle]) -> list[CyclePublic]:
    """Cycles with the names of their network and collection centre (one query for names)."""
    orgs = await names.organizations(
        session, [c.network_id for c in rows] + [c.collection_centre_id for c in rows]
    )
    return [
        CyclePublic.model_validate(
            {
                **c.model_dump(),
                "network_name": orgs.get(c.network_id, names.UNKNOWN_ORG).name,
                "collection_centre_name": orgs.get(c.collection_centre_id, names.UNKNOWN_ORG).name,
            }
        )
        for c in rows
    ]

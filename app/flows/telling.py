"""Who is told what: the notifications of every event (the ``events.dispatch`` job's
subscriber). Each handler finds the people (the members of the organisations concerned, in
their own language) and the facts the message needs, and writes the messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.models import Membership, Organization, User
from app.core.config import Settings
from app.core.printing import SPANISH_COUNTRIES
from app.events.models import DomainEvent
from app.notifications.service import Recipient, notify
from app.orders.models import Order, OrderCycle

Handler = Callable[[AsyncSession, Settings, DomainEvent], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


def handles(*types: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        for type_ in types:
            HANDLERS[type_] = fn
        return fn

    return register


async def notify_people(session: AsyncSession, settings: Settings, event: DomainEvent) -> None:
    handler = HANDLERS.get(event.type)
    if handler is not None:
        await handler(session, settings, event)


def language_of(user_language: str | None, country: str | None) -> str:
    if user_language in ("es", "en"):
        return user_language
    return "es" if country is None or country in SPANISH_COUNTRIES else "en"


async def members(
    session: AsyncSession, organization_ids: Sequence[str], roles: Sequence[str] | None = None
) -> list[Recipient]:
    """The active members of these organisations (each once), in their language."""
    if not organization_ids:
        return []
    stmt = (
        select(col(User.id), col(User.email), col(User.language), col(Organization.country))
        .join(Membership, col(Membership.user_id) == col(User.id))
        .join(Organization, col(Organization.id) == col(Membership.organization_id))
        .where(col(Membership.organization_id).in_(list(organization_ids)), col(User.is_active))
        .order_by(User.email)
    )
    if roles:
        stmt = stmt.where(col(Membership.role).in_(list(roles)))
    seen: dict[str, Recipient] = {}
    for user_id, email, language, country in await session.execute(stmt):
        seen.setdefault(user_id, Recipient(user_id, email, language_of(language, country)))
    return list(seen.values())


async def cycle_facts(session: AsyncSession, cycle_id: str) -> dict[str, Any]:
    row = (
        await session.execute(
            select(OrderCycle, col(Organization.name))
            .join(Organization, col(Organization.id) == col(OrderCycle.network_id))
            .where(OrderCycle.id == cycle_id)
        )
    ).first()
    if row is None:
        return {}
    cycle, network_name = row
    return {
        "cycle_id": cycle.id,
        "network_id": cycle.network_id,
        "network_name": network_name,
        "delivery_date": cycle.delivery_date.isoformat(),
        "closes_at": cycle.closes_at.isoformat(),
        "timezone": cycle.timezone,
        "currency": cycle.currency,
    }


ORDER_KINDS = {
    "order.placed": "order_placed",
    "order.changed": "order_changed",
    "order.cancelled": "order_cancelled",
    "order.confirmed": "order_confirmed",
}


@handles(*ORDER_KINDS)
async def order_event(session: AsyncSession, settings: Settings, event: DomainEvent) -> None:
    order = event.payload.get("order") or {}
    buyer_id = order.get("buyer_id")
    if not buyer_id:
        return
    context = {"order": order, "cycle": await cycle_facts(session, order["cycle_id"])}
    context |= {k: v for k, v in event.payload.items() if k != "order"}
    await notify(
        session,
        kind=ORDER_KINDS[event.type],
        event_key=event.id,
        recipients=await members(session, [buyer_id]),
        context=context,
    )


async def buyers_of_network(session: AsyncSession, network_id: str) -> list[str]:
    """The buyers who ordered in one of the network's cycles: its customers."""
    rows = await session.scalars(
        select(col(Order.buyer_id))
        .join(OrderCycle, col(OrderCycle.id) == col(Order.cycle_id))
        .where(OrderCycle.network_id == network_id)
        .distinct()
    )
    return sorted(rows)


CYCLE_KINDS = {"cycle.opened": "cycle_opened", "cycle.closing": "cycle_closing"}


@handles(*CYCLE_KINDS)
async def cycle_event(session: AsyncSession, settings: Settings, event: DomainEvent) -> None:
    facts = await cycle_facts(session, event.payload["cycle_id"])
    if not facts:
        return
    await notify(
        session,
        kind=CYCLE_KINDS[event.type],
        event_key=event.id,
        recipients=await members(session, await buyers_of_network(session, facts["network_id"])),
        context={"cycle": facts} | {k: v for k, v in event.payload.items() if k != "cycle_id"},
    )

"""Who is told what: the notifications of every event (the ``events.dispatch`` job's
subscriber). Each handler finds the people (the members of the organisations concerned, in
their own language) and the facts the message needs, and writes the messages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.models import Membership, Organization, OrganizationKind, User
from app.accounts.principal import SYSTEM
from app.aggregation.models import DeliveryOrder, DeliveryOrderLine
from app.brands import names
from app.core.config import Settings
from app.core.storage import object_store
from app.events import service as events
from app.events.models import DomainEvent
from app.notifications.service import Attachment, Recipient, language_of, notify
from app.orders.models import Order, OrderCycle, OrderStatus
from app.orders.schemas import OrderPublic
from app.orders.service import order_publics
from app.settlement import copies
from app.settlement.models import Invoice, Payout, PayoutLine

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
    if event.type == "order.placed" and order.get("standing_order_id"):
        return  # the standing order's own message tells of it, with what it left out
    context = {"order": order, "cycle": await cycle_facts(session, order["cycle_id"])}
    context |= {k: v for k, v in event.payload.items() if k != "order"}
    await notify(
        session,
        kind=ORDER_KINDS[event.type],
        event_key=event.id,
        recipients=await members(session, [buyer_id]),
        context=context,
    )


async def buyers_in(session: AsyncSession, organization_ids: Sequence[str]) -> list[str]:
    """The buyers among an event's audience (a cycle's: the buyers who had ordered from the
    network when it happened)."""
    rows = await session.scalars(
        select(col(Organization.id)).where(
            col(Organization.id).in_(list(organization_ids)),
            Organization.kind == OrganizationKind.buyer,
        )
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
        recipients=await members(session, await buyers_in(session, event.audience)),
        context={"cycle": facts} | {k: v for k, v in event.payload.items() if k != "cycle_id"},
    )


# --- the close: each buyer's confirmation, each association's delivery order ---------------

CONFIRM_BATCH = 200


def cuts_of(order: OrderPublic) -> list[dict[str, Any]]:
    return [
        {
            "sku_name": line.sku_name,
            "asked": str(line.quantity),
            "confirmed": str(line.confirmed_quantity),
            "reason": "the associations could not supply all of it",
        }
        for line in order.lines
        if line.confirmed_quantity is not None and line.confirmed_quantity < line.quantity
    ]


@handles("cycle.closed")
async def cycle_closed(session: AsyncSession, settings: Settings, event: DomainEvent) -> None:
    """One event per confirmed order (its buyer and integrators hear of it), and every
    association's delivery order."""
    cycle = await session.get(OrderCycle, event.payload["cycle_id"])
    if cycle is None:
        return
    order_ids = list(
        await session.scalars(
            select(col(Order.id))
            # confirmed at the close (since packed, delivered… when this runs late)
            .where(
                Order.cycle_id == cycle.id,
                col(Order.status).not_in([OrderStatus.placed, OrderStatus.cancelled]),
            )
            .order_by(col(Order.id))
        )
    )
    for start in range(0, len(order_ids), CONFIRM_BATCH):
        batch = list(
            await session.scalars(
                select(Order).where(col(Order.id).in_(order_ids[start : start + CONFIRM_BATCH]))
            )
        )
        for public in await order_publics(session, batch):
            await events.emit(
                session,
                "order.confirmed",
                key=public.id,
                audience=[public.buyer_id, cycle.network_id],
                payload={"order": public.model_dump(mode="json"), "cuts": cuts_of(public)},
            )
    facts = await cycle_facts(session, cycle.id)
    delivery_orders = await session.scalars(
        select(DeliveryOrder).where(DeliveryOrder.cycle_id == cycle.id)
    )
    for delivery in delivery_orders:
        lines = list(
            await session.scalars(
                select(DeliveryOrderLine).where(DeliveryOrderLine.delivery_order_id == delivery.id)
            )
        )
        sku_names = await names.skus(session, [line.sku_id for line in lines])
        centre = await session.get(Organization, delivery.collection_centre_id)
        await notify(
            session,
            kind="delivery_order",
            event_key=f"{event.id}:{delivery.id}",
            recipients=await members(session, [delivery.association_id]),
            context={
                "cycle": facts,
                "delivery_order_id": delivery.id,
                "centre_name": centre.name if centre else "",
                "lines": sorted(
                    (
                        {
                            "sku_name": sku_names.get(line.sku_id, line.sku_id),
                            "quantity": str(line.quantity),
                            "producer_price_cents": line.producer_price_cents,
                        }
                        for line in lines
                    ),
                    key=lambda line: str(line["sku_name"]),
                ),
            },
        )


STANDING_KINDS = {
    "standing_order.placed": "standing_order_placed",
    "standing_order.failed": "standing_order_failed",
}


@handles(*STANDING_KINDS)
async def standing_run(session: AsyncSession, settings: Settings, event: DomainEvent) -> None:
    order = None
    if event.payload.get("order_id"):
        stored = await session.get(Order, event.payload["order_id"])
        if stored is not None:
            order = (await order_publics(session, [stored]))[0].model_dump(mode="json")
    await notify(
        session,
        kind=STANDING_KINDS[event.type],
        event_key=event.id,
        recipients=await members(session, [event.payload["buyer_id"]]),
        context={
            "cycle": await cycle_facts(session, event.payload["cycle_id"]),
            "order": order,
            "skipped": event.payload.get("skipped", []),
        },
    )


# --- settlement: invoices to buyers, payout statements to associations ---------------------


@handles("cycle.settled")
async def cycle_settled(session: AsyncSession, settings: Settings, event: DomainEvent) -> None:
    cycle_id = event.payload["cycle_id"]
    network_id = event.payload["network_id"]
    for invoice in await session.scalars(
        select(Invoice).where(Invoice.cycle_id == cycle_id).order_by(col(Invoice.sequence))
    ):
        await events.emit(
            session,
            "invoice.issued",
            key=invoice.id,
            audience=[invoice.buyer_id, network_id],
            payload={
                "invoice_id": invoice.id,
                "number": invoice.number,
                "order_id": invoice.order_id,
                "buyer_id": invoice.buyer_id,
                "cycle_id": cycle_id,
                "currency": invoice.currency,
                "total_cents": invoice.total_cents,
                "tax_cents": invoice.tax_cents,
                "payment_method": invoice.payment_method,
                "issued_at": invoice.issued_at,
                "due_on": invoice.due_on,
                "pdf": f"/api/v1/invoices/{invoice.id}.pdf",
            },
        )
    for payout in await session.scalars(
        select(Payout).where(Payout.cycle_id == cycle_id).order_by(col(Payout.association_id))
    ):
        lines = list(
            await session.scalars(select(PayoutLine).where(PayoutLine.payout_id == payout.id))
        )
        sku_names = await names.skus(session, [line.sku_id for line in lines])
        await events.emit(
            session,
            "payout.issued",
            key=payout.id,
            audience=[payout.association_id, network_id],
            payload={
                "payout_id": payout.id,
                "association_id": payout.association_id,
                "cycle_id": cycle_id,
                "currency": payout.currency,
                "gross_cents": payout.gross_cents,
                "adjustments_cents": payout.adjustments_cents,
                "amount_cents": payout.amount_cents,
                "lines": [
                    {
                        "sku_id": line.sku_id,
                        "sku_name": sku_names.get(line.sku_id, line.sku_id),
                        "quantity": str(line.quantity),
                        "producer_price_cents": line.producer_price_cents,
                        "amount_cents": line.amount_cents,
                    }
                    for line in sorted(lines, key=lambda x: sku_names.get(x.sku_id, x.sku_id))
                ],
            },
        )


@dataclass(frozen=True)
class ToldToOne:
    """An event told to the people of one organisation named in its payload, with the
    facts of its cycle and the payload itself (under ``as_``, or spread)."""

    kind: str
    to: str  # the payload's key of the organisation
    as_: str | None = None
    attachment: str | None = None  # a maker of app/notifications, of the payload's invoice


TOLD_TO_ONE = {
    "shipment.dispatched": ToldToOne("shipment_dispatched", "buyer_id"),
    "shipment.delivered": ToldToOne("shipment_delivered", "buyer_id"),
    # the invoice as issued, however late its e-mail goes; a credit note's, as it now reads
    "invoice.issued": ToldToOne("invoice_issued", "buyer_id", "invoice", "issued_invoice"),
    "credit_note.issued": ToldToOne("credit_note_issued", "buyer_id", "note", "invoice"),
    "payout.issued": ToldToOne("payout_statement", "association_id", "payout"),
}


@handles(*TOLD_TO_ONE)
async def told_to_one(session: AsyncSession, settings: Settings, event: DomainEvent) -> None:
    told = TOLD_TO_ONE[event.type]
    payload = event.payload
    context: dict[str, Any] = {"cycle": await cycle_facts(session, payload["cycle_id"])}
    context |= {told.as_: payload} if told.as_ else payload
    if told.attachment:
        context["attachment"] = {"type": told.attachment, "id": payload["invoice_id"]}
    await notify(
        session,
        kind=told.kind,
        event_key=event.id,
        recipients=await members(session, [payload[told.to]]),
        context=context,
    )


async def invoice_attachment(
    session: AsyncSession,
    settings: Settings,
    invoice_id: str,
    language: str,
    *,
    as_issued: bool = False,
) -> Attachment | None:
    """The invoice as its buyer downloads it, the stored copy (app/settlement/copies.py):
    as it reads now, with its credit notes, or ``as_issued``."""
    printed = await copies.printed_invoice(
        session, SYSTEM, invoice_id, store=object_store(settings), as_issued=as_issued
    )
    return f"invoice-{printed.number}.pdf", "application/pdf", printed.pdf


@handles("joint_purchase.closed")
async def joint_purchase(session: AsyncSession, settings: Settings, event: DomainEvent) -> None:
    """Each association that asked hears its share of the joint purchase and what it saves."""
    network = await session.get(Organization, event.payload["network_id"])
    common = {k: v for k, v in event.payload.items() if k != "shares"}
    for share in event.payload["shares"]:
        await notify(
            session,
            kind="joint_purchase_share",
            event_key=f"{event.id}:{share['association_id']}",
            recipients=await members(session, [share["association_id"]]),
            context={
                "campaign": common,
                "share": share,
                "network_name": network.name if network else "",
            },
        )

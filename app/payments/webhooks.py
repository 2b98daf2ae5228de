"""Stripe webhooks: verify, store once per event id, then apply to the authorisation.

The signature must match and be dated within Stripe's 300 s of now, either way; the event
is then checked against the sizes of what is stored and read (ids, type, amounts): a signed
body that no Stripe event looks like is a 400 ``invalid_webhook_payload``, never a 500.

An event is first inserted into ``payment_events`` with "insert or do nothing" on
``(source, external_id)``; only the request that inserted it applies it, so Stripe's retries
and concurrent deliveries change nothing twice. Statuses only move forward (``STATUS_RANK``):
an event that arrives after a newer one is stored and ignored, as is an event about a
PaymentIntent Minga does not know.

Other domains react to changes by registering a callback with ``on_status_change``; it runs
inside the webhook's transaction, after the authorisation was changed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import stripe
from pydantic import ValidationError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.core.config import Settings
from app.core.ids import new_id
from app.core.timeutil import utcnow
from app.payments.exceptions import InvalidSignature, InvalidWebhookPayload, WebhooksNotConfigured
from app.payments.models import (
    AuthorizationStatus,
    EventSource,
    PaymentAuthorization,
    PaymentEvent,
    moves_forward,
)
from app.payments.schemas import StripeEventIn, StripePaymentObjectIn, WebhookReceipt

log = logging.getLogger(__name__)

Status = AuthorizationStatus
StatusCallback = Callable[
    [AsyncSession, PaymentAuthorization, AuthorizationStatus], Awaitable[None]
]

_events: Any = PaymentEvent.__table__  # type: ignore[attr-defined]
_callbacks: list[StatusCallback] = []


def on_status_change(callback: StatusCallback) -> StatusCallback:
    """Call ``callback(session, authorization, previous_status)`` on every webhook change.

    Usable as a decorator. Changes made through ``app.payments.service`` do not call it: the
    caller of the service already knows what it did.
    """
    _callbacks.append(callback)
    return callback


# Stripe's tolerance for the signature's timestamp, applied both ways: the SDK only refuses
# timestamps too far in the past, so one signed for the future would stay replayable.
SIGNATURE_TOLERANCE_SECONDS = 300


def _signed_at(header: str) -> int:
    """The ``t=`` of a ``Stripe-Signature`` header that the SDK has already verified."""
    for item in header.split(","):
        key, _, value = item.partition("=")
        if key.strip() == "t":
            return int(value)
    raise InvalidSignature()


def verify_signature(payload: bytes, header: str | None, secret: str, *, now: float) -> None:
    """The HMAC of ``"{t}.{payload}"`` matches, and ``t`` is within the tolerance of now."""
    try:
        stripe.WebhookSignature.verify_header(
            payload, header, secret, tolerance=SIGNATURE_TOLERANCE_SECONDS
        )
    except stripe.SignatureVerificationError as error:
        raise InvalidSignature() from error
    except ValueError as error:  # not UTF-8
        raise InvalidWebhookPayload("The body is not UTF-8 text") from error
    assert header is not None  # the SDK refuses a missing header
    try:
        skew = abs(now - _signed_at(header))
    except ValueError as error:
        raise InvalidSignature() from error
    if skew > SIGNATURE_TOLERANCE_SECONDS:
        raise InvalidSignature(
            f"The signature's timestamp is more than {SIGNATURE_TOLERANCE_SECONDS} s from now"
        )


def _invalid(error: ValidationError, prefix: str = "") -> InvalidWebhookPayload:
    errors = [
        {"field": prefix + ".".join(str(p) for p in e["loc"]), "detail": e["msg"]}
        for e in error.errors(include_input=False, include_url=False)
    ]
    summary = "; ".join(f"{e['field']}: {e['detail']}" for e in errors[:5])
    return InvalidWebhookPayload(f"The event is not one Minga can take: {summary}", errors=errors)


def parse_event(payload: bytes) -> tuple[StripeEventIn, dict[str, Any]]:
    """The event's envelope, checked against the sizes of what is stored, and its body."""
    try:
        body = json.loads(payload)
    except (ValueError, RecursionError) as error:  # not JSON, or nested beyond reason
        raise InvalidWebhookPayload("The body is not JSON") from error
    if not isinstance(body, dict):
        raise InvalidWebhookPayload("The body is not a JSON object")
    try:
        event = StripeEventIn.model_validate(body)
    except ValidationError as error:
        raise _invalid(error) from None
    obj = event.data.object if event.data else None
    if event.type in HANDLED and obj is not None:
        try:
            StripePaymentObjectIn.model_validate(obj)
        except ValidationError as error:
            raise _invalid(error, "data.object.") from None
    return event, body


async def receive_stripe_event(
    session: AsyncSession, settings: Settings, *, payload: bytes, signature: str | None
) -> WebhookReceipt:
    secret = (
        settings.stripe_webhook_secret.get_secret_value() if settings.stripe_webhook_secret else ""
    )
    if not secret:
        raise WebhooksNotConfigured()
    verify_signature(payload, signature, secret, now=utcnow().timestamp())
    event, body = parse_event(payload)
    stored = await store_event(
        session, source=EventSource.stripe, external_id=event.id, type=event.type, payload=body
    )
    if stored is None:
        return WebhookReceipt(duplicate=True)
    obj = event.data.object if event.data else None
    if obj is not None:
        await apply_stripe_event(session, event.type, obj)
    await session.execute(
        _events.update().where(_events.c.id == stored).values(processed_at=utcnow())
    )
    return WebhookReceipt(duplicate=False)


async def store_event(
    session: AsyncSession,
    *,
    source: EventSource,
    external_id: str,
    type: str,
    payload: Mapping[str, Any],
) -> str | None:
    """Insert the event unless its id is known: the new row's id, or ``None`` for a duplicate."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(_events)
        .values(
            id=new_id(),
            source=source.value,
            external_id=external_id,
            type=type,
            payload=dict(payload),
            received_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=[_events.c.source, _events.c.external_id])
        .returning(_events.c.id)
    )
    inserted: str | None = (await session.execute(stmt)).scalar_one_or_none()
    return inserted


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _advance(row: PaymentAuthorization, status: Status) -> None:
    if moves_forward(row.status, status):
        row.status = status


def _intent_succeeded(row: PaymentAuthorization, intent: Mapping[str, Any]) -> None:
    if not moves_forward(row.status, Status.captured):
        return
    received = _int(intent.get("amount_received"))
    if received is not None:
        row.captured_cents = max(row.captured_cents, received)
    row.status = Status.captured


def _charge_refunded(row: PaymentAuthorization, charge: Mapping[str, Any]) -> None:
    amount = _int(charge.get("amount")) or 0
    captured = _int(charge.get("amount_captured")) or row.captured_cents
    if captured <= 0:
        return
    # After a partial capture Stripe reports the uncaptured rest as refunded too.
    released = max(0, amount - captured)
    refunded = min(captured, max(0, (_int(charge.get("amount_refunded")) or 0) - released))
    row.captured_cents = max(row.captured_cents, captured)
    row.refunded_cents = max(row.refunded_cents, refunded)
    if row.refunded_cents >= row.captured_cents:
        _advance(row, Status.refunded)
    elif row.refunded_cents > 0:
        _advance(row, Status.partially_refunded)


INTENT_STATUS: dict[str, Status] = {
    "payment_intent.amount_capturable_updated": Status.authorized,
    "payment_intent.canceled": Status.cancelled,
    "payment_intent.payment_failed": Status.failed,
}
HANDLED = frozenset({*INTENT_STATUS, "payment_intent.succeeded", "charge.refunded"})


async def apply_stripe_event(
    session: AsyncSession, event_type: str, obj: Mapping[str, Any]
) -> PaymentAuthorization | None:
    """Apply an event to its authorisation; ``None`` when it concerns none Minga knows."""
    if event_type not in HANDLED:
        return None
    ref = obj.get("payment_intent") if event_type == "charge.refunded" else obj.get("id")
    if not isinstance(ref, str):
        return None
    row = (
        await session.scalars(
            select(PaymentAuthorization)
            .where(col(PaymentAuthorization.external_ref) == ref)
            .with_for_update()
        )
    ).first()
    if row is None:
        log.info("Stripe %s for unknown PaymentIntent %s stored, not applied", event_type, ref)
        return None
    previous = Status(row.status)
    before = (row.status, row.captured_cents, row.refunded_cents)
    if event_type == "payment_intent.succeeded":
        _intent_succeeded(row, obj)
    elif event_type == "charge.refunded":
        _charge_refunded(row, obj)
    else:
        _advance(row, INTENT_STATUS[event_type])
    if (row.status, row.captured_cents, row.refunded_cents) == before:
        return row
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    if row.status != previous:
        for callback in _callbacks:
            await callback(session, row, previous)
    return row

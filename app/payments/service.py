"""What the orders domain asks of payments: authorise, change, cancel, capture.

The functions run inside the caller's transaction and only ``flush()``. Each one is idempotent:
it reads the stored authorisation first and does only what is still missing, and every
provider call carries an idempotency key derived from the order, the PaymentIntent and the
step, so a retry after a lost answer or a rolled-back transaction never moves money twice.

The provider is called before the row is locked: the row is then re-read ``FOR UPDATE`` and
changed. Callers should likewise not hold locks they can avoid across these calls
(CONVENTIONS 12): reserve stock, commit, pay, then finalise.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.models import Organization
from app.core.config import Settings
from app.core.timeutil import utcnow
from app.orders.models import PaymentMethod
from app.payments.exceptions import (
    CaptureExceedsAuthorization,
    PaymentAuthorizationNotFound,
    PaymentNotChangeable,
)
from app.payments.models import AuthorizationStatus, PaymentAuthorization, moves_forward
from app.payments.providers import Authorization, provider_for

Status = AuthorizationStatus
OBJECT_TYPE = "payment_authorization"
STRIPE_KEY_MAX = 255
TAKEN = frozenset({Status.captured, Status.partially_refunded, Status.refunded})


def _key(order_id: str, *parts: object) -> str:
    """A Stripe idempotency key for one step of one order (Stripe takes at most 255 chars)."""
    key = ":".join(["minga", order_id, *(str(p) for p in parts)])
    return (
        key if len(key) <= STRIPE_KEY_MAX else "minga:" + hashlib.sha256(key.encode()).hexdigest()
    )


async def current_authorization(
    session: AsyncSession, order_id: str
) -> PaymentAuthorization | None:
    """The order's authorisation (one per order: a retry after a failure reuses the row)."""
    return (
        await session.scalars(
            select(PaymentAuthorization)
            .where(col(PaymentAuthorization.order_id) == order_id)
            .order_by(
                col(PaymentAuthorization.created_at).desc(), col(PaymentAuthorization.id).desc()
            )
            .limit(1)
        )
    ).first()


async def _require(session: AsyncSession, order_id: str) -> PaymentAuthorization:
    row = await current_authorization(session, order_id)
    if row is None:
        raise PaymentAuthorizationNotFound(f"Order {order_id} has no payment authorisation")
    return row


async def _locked(session: AsyncSession, row: PaymentAuthorization) -> PaymentAuthorization:
    """Re-read the row under a lock, after the provider call and before changing it."""
    await session.refresh(row, with_for_update=True)
    return row


async def _save(
    session: AsyncSession, row: PaymentAuthorization, action: str, before: dict[str, Any]
) -> PaymentAuthorization:
    row.updated_at = utcnow()
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        None,
        action=f"payment.{action}",
        object_type=OBJECT_TYPE,
        object_id=row.id,
        organization_id=row.buyer_id,
        changes=audit.diff(before, _snapshot(row)),
    )
    return row


def _snapshot(row: PaymentAuthorization) -> dict[str, Any]:
    return row.model_dump(
        include={"status", "amount_cents", "captured_cents", "refunded_cents", "external_ref"}
    )


async def hold(
    settings: Settings,
    *,
    order_id: str,
    method: PaymentMethod | str,
    amount_cents: int,
    currency: str,
    payment_method_id: str | None,
    buyer: Organization,
    idempotency_key: str | None = None,
) -> Authorization:
    """Ask the provider to hold the amount (card) or grant the buyer's terms (invoice),
    touching no database row: callers hold the money before their stock transaction.

    ``idempotency_key`` is the client's ``Idempotency-Key`` of the request placing the order
    (default: the order id): a retry of the same request reuses the hold at Stripe instead of
    placing a second one. A declined card raises 402 ``payment_declined``.
    """
    if amount_cents < 0:
        raise ValueError("amount_cents must not be negative")
    provider = provider_for(method, settings, payment_terms_days=buyer.payment_terms_days)
    return await provider.authorize(
        amount_cents=amount_cents,
        currency=currency,
        payment_method_id=payment_method_id,
        customer_ref=None,
        idempotency_key=_key(
            idempotency_key or order_id, "authorize", amount_cents, payment_method_id or "-"
        ),
        metadata={"order_id": order_id, "buyer_id": buyer.id},
    )


async def release(settings: Settings, held: Authorization, *, order_id: str) -> None:
    """Give back a hold whose order did not land (its transaction rolled back)."""
    if held.external_ref and held.status == Status.authorized:
        provider = provider_for(held.provider, settings)
        await provider.cancel(
            held.external_ref, idempotency_key=_key(order_id, held.external_ref, "rollback")
        )


async def record_hold(
    session: AsyncSession,
    *,
    order_id: str,
    buyer: Organization,
    held: Authorization,
    existing: PaymentAuthorization | None = None,
) -> PaymentAuthorization:
    """Store what the provider holds for the order."""
    row = existing or PaymentAuthorization(
        order_id=order_id,
        buyer_id=buyer.id,
        provider=held.provider,
        status=held.status,
        amount_cents=held.amount_cents,
        currency=held.currency,
    )
    before = _snapshot(row) if existing else {}
    row.provider = held.provider
    row.status = held.status
    row.amount_cents = held.amount_cents
    row.currency = held.currency
    row.external_ref = held.external_ref
    row.due_in_days = held.due_in_days
    return await _save(session, row, "authorized", before)


async def authorize_order(
    session: AsyncSession,
    settings: Settings,
    *,
    order_id: str,
    method: PaymentMethod | str,
    amount_cents: int,
    currency: str,
    payment_method_id: str | None,
    buyer: Organization,
    idempotency_key: str | None = None,
) -> PaymentAuthorization:
    """``hold`` and ``record_hold`` in the caller's transaction (standing orders, which
    place themselves inside the transaction that opens a cycle).

    An order that already has an authorisation (not a failed one) gets it back unchanged: use
    ``change_amount`` to change it. A declined card raises 402 and stores nothing.
    """
    existing = await current_authorization(session, order_id)
    if existing is not None and existing.status != Status.failed:
        return existing
    held = await hold(
        settings,
        order_id=order_id,
        method=method,
        amount_cents=amount_cents,
        currency=currency,
        payment_method_id=payment_method_id,
        buyer=buyer,
        idempotency_key=idempotency_key,
    )
    return await record_hold(session, order_id=order_id, buyer=buyer, held=held, existing=existing)


async def change_amount(
    session: AsyncSession, settings: Settings, *, order_id: str, amount_cents: int
) -> PaymentAuthorization:
    """Hold ``amount_cents`` instead of the current amount, before the cut-off.

    Card: a lower amount updates the PaymentIntent; a higher one places a new hold and
    releases the old (402 ``payment_declined`` when the card refuses the raise, and the old
    hold stays). An amount of 0 cancels. Invoice and cash: only the stored amount changes.
    """
    if amount_cents < 0:
        raise ValueError("amount_cents must not be negative")
    row = await _require(session, order_id)
    if amount_cents == row.amount_cents:
        return row
    if amount_cents == 0:
        return await _cancel(session, settings, row)
    before = _snapshot(row)
    if row.status == Status.not_required:
        row.amount_cents = amount_cents
        return await _save(session, row, "amount_changed", before)
    if row.status != Status.authorized:
        raise PaymentNotChangeable(f"The payment is {row.status}; its amount cannot change")
    provider = provider_for(row.provider, settings)
    ref = await provider.update_amount(
        row.external_ref,
        amount_cents,
        idempotency_key=_key(order_id, row.external_ref, "amount", amount_cents),
    )
    row = await _locked(session, row)
    row.external_ref = ref
    row.amount_cents = amount_cents
    return await _save(session, row, "amount_changed", before)


async def cancel_for_order(
    session: AsyncSession, settings: Settings, *, order_id: str
) -> PaymentAuthorization | None:
    """Release the hold of a cancelled order; ``None`` when the order had none.

    409 ``payment_not_changeable`` once money was captured: that calls for a refund.
    """
    row = await current_authorization(session, order_id)
    if row is None:
        return None
    return await _cancel(session, settings, row)


async def _cancel(
    session: AsyncSession, settings: Settings, row: PaymentAuthorization
) -> PaymentAuthorization:
    if row.status == Status.cancelled:
        return row
    if row.status in TAKEN:
        raise PaymentNotChangeable("The payment was captured; refund it instead of cancelling")
    before = _snapshot(row)
    if row.status in (Status.authorized, Status.pending) and row.external_ref:
        provider = provider_for(row.provider, settings)
        await provider.cancel(
            row.external_ref, idempotency_key=_key(row.order_id, row.external_ref, "cancel")
        )
        row = await _locked(session, row)
    if moves_forward(row.status, Status.cancelled):
        row.status = Status.cancelled
    return await _save(session, row, "cancelled", before)


async def capture_for_order(
    session: AsyncSession, settings: Settings, order_id: str, final_amount_cents: int
) -> PaymentAuthorization:
    """Take the final amount: capture it, or refund what was taken above it.

    Card: an authorised hold is captured at ``final_amount_cents`` (0 releases it); when more
    was captured before, the excess is refunded. 409 ``capture_exceeds_authorization`` when the
    final amount is above what the hold (or the earlier capture) allows. Invoice and cash: the
    stored amount becomes the final amount (the buyer pays it outside Minga).
    """
    if final_amount_cents < 0:
        raise ValueError("final_amount_cents must not be negative")
    row = await _require(session, order_id)
    before = _snapshot(row)
    if row.status == Status.not_required:
        if row.amount_cents == final_amount_cents:
            return row
        row.amount_cents = final_amount_cents
        return await _save(session, row, "amount_finalised", before)
    if row.status == Status.authorized:
        return await _capture(session, settings, row, final_amount_cents)
    if row.status in TAKEN:
        return await _refund_excess(session, settings, row, final_amount_cents)
    if row.status == Status.cancelled and final_amount_cents == 0:
        return row
    raise PaymentNotChangeable(f"The payment is {row.status}; nothing can be captured")


async def _capture(
    session: AsyncSession, settings: Settings, row: PaymentAuthorization, amount_cents: int
) -> PaymentAuthorization:
    if amount_cents > row.amount_cents:
        raise CaptureExceedsAuthorization(
            f"The final amount {amount_cents} is above the {row.amount_cents} authorised"
        )
    if amount_cents == 0:
        return await _cancel(session, settings, row)
    before = _snapshot(row)
    provider = provider_for(row.provider, settings)
    taken = await provider.capture(
        row.external_ref,
        amount_cents,
        idempotency_key=_key(row.order_id, row.external_ref, "capture", amount_cents),
    )
    row = await _locked(session, row)
    row.captured_cents = max(row.captured_cents, taken.amount_cents)
    if moves_forward(row.status, Status.captured):
        row.status = Status.captured
    return await _save(session, row, "captured", before)


async def _refund_excess(
    session: AsyncSession, settings: Settings, row: PaymentAuthorization, final_amount_cents: int
) -> PaymentAuthorization:
    kept = row.captured_cents - row.refunded_cents
    if final_amount_cents == kept:
        return row
    if final_amount_cents > kept:
        raise CaptureExceedsAuthorization(
            f"{kept} is already taken and cannot grow to {final_amount_cents}"
        )
    before = _snapshot(row)
    provider = provider_for(row.provider, settings)
    # What is kept only ever shrinks, so the final amount names the refund step uniquely.
    await provider.refund(
        row.external_ref,
        kept - final_amount_cents,
        idempotency_key=_key(row.order_id, row.external_ref, "refund-to", final_amount_cents),
    )
    row = await _locked(session, row)
    row.refunded_cents = min(
        row.captured_cents, max(row.refunded_cents, row.captured_cents - final_amount_cents)
    )
    status = (
        Status.refunded if row.refunded_cents >= row.captured_cents else Status.partially_refunded
    )
    if moves_forward(row.status, status):
        row.status = status
    return await _save(session, row, "refunded", before)

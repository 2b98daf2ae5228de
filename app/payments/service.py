"""What the orders domain asks of payments: authorise, change, cancel, capture.

Each step is idempotent: it reads the stored authorisation first and does only what is
still missing, and every provider call carries an idempotency key derived from the order,
the PaymentIntent and the step, so a retry after a lost answer or a rolled-back
transaction never moves money twice.

No provider call is made while a transaction is open (CONVENTIONS 12; on SQLite a write
transaction holds the database's write lock): the steps that call the provider take a
sessionmaker, read the row in a transaction of their own, call the provider with none
open, then change the row under its lock (``change_amount``, ``release_for_order``,
``capture_for_order``). A change stored with the order's lines is split in three
(``AmountChange``); ``hold`` and ``record_hold`` likewise let placement hold first and
store in its own transaction. ``authorize_order`` alone calls the provider inside the
caller's transaction: standing orders, placed while a cycle opens.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.models import Organization
from app.core.config import Settings
from app.core.db import transaction
from app.core.i18n import _l
from app.core.ids import new_id
from app.core.timeutil import utcnow
from app.orders.exceptions import OrderChangedMeanwhile
from app.orders.models import PaymentMethod
from app.payments.exceptions import (
    CaptureExceedsAuthorization,
    PaymentAuthorizationNotFound,
    PaymentNotChangeable,
)
from app.payments.models import AuthorizationStatus, PaymentAuthorization, moves_forward
from app.payments.providers import Authorization, provider_for

log = logging.getLogger(__name__)
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
        raise PaymentAuthorizationNotFound(
            _l("Order {order_id} has no payment authorisation", order_id=order_id)
        )
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


class AmountStep(StrEnum):
    unchanged = "unchanged"  # the amount does not change
    store = "store"  # invoice and cash: only the stored amount changes
    decrease = "decrease"  # card: the PaymentIntent is lowered once the change is stored
    increase = "increase"  # card: a new hold is placed first, the old released once stored
    release = "release"  # an amount of 0: the hold is released


@dataclass(frozen=True)
class AmountChange:
    """A change of an order's held amount, in three steps so that the provider is never
    called while a transaction holds locks: ``place_amount_change`` (no transaction: a
    raise places its new hold), ``record_amount_change`` (in the transaction that stores the
    order's change, row locked), ``finish_amount_change`` (after commit: the old hold is
    released, or the PaymentIntent lowered). ``undo_amount_change`` releases a new hold
    whose transaction did not commit."""

    order_id: str
    provider: str
    status: Status
    ref: str | None  # the reference holding the money when the change was planned
    before_cents: int
    after_cents: int
    replacement: str | None = None  # the new hold of a raise, once placed

    @property
    def step(self) -> AmountStep:
        if self.after_cents == self.before_cents:
            return AmountStep.unchanged
        if self.after_cents == 0:
            return AmountStep.release
        if self.status == Status.not_required:
            return AmountStep.store
        return AmountStep.increase if self.after_cents > self.before_cents else AmountStep.decrease


async def plan_amount_change(
    session: AsyncSession, order_id: str, amount_cents: int
) -> AmountChange:
    """How the order's authorisation goes to ``amount_cents`` (read only). 409
    ``payment_not_changeable`` for a hold that can no longer change (captured, cancelled)."""
    if amount_cents < 0:
        raise ValueError("amount_cents must not be negative")
    row = await _require(session, order_id)
    change = AmountChange(
        order_id, row.provider, Status(row.status), row.external_ref, row.amount_cents, amount_cents
    )
    if (
        change.step in (AmountStep.increase, AmountStep.decrease)
        and row.status != Status.authorized
    ):
        raise PaymentNotChangeable(
            _l("The payment is {status}; its amount cannot change", status=row.status)
        )
    if change.step == AmountStep.release and row.status in TAKEN:
        raise PaymentNotChangeable("The payment was captured; refund it instead of cancelling")
    return change


async def place_amount_change(settings: Settings, change: AmountChange) -> AmountChange:
    """Call no transaction open: a raise places its new hold beside the old one (402
    ``payment_declined`` when the card refuses it: nothing changed, the old hold stays)."""
    if change.step != AmountStep.increase:
        return change
    provider = provider_for(change.provider, settings)
    replacement = await provider.replace_hold(
        change.ref,
        change.after_cents,
        # this attempt's own: a hold released after a failed attempt is never replayed
        idempotency_key=_key(change.order_id, change.ref, "raise", change.after_cents, new_id()),
    )
    return replace(change, replacement=replacement)


async def record_amount_change(session: AsyncSession, change: AmountChange) -> PaymentAuthorization:
    """Store the change, in the transaction of the order's change. 409
    ``order_changed_meanwhile`` when the authorisation is not as the change was planned from
    (a concurrent change of the same order landed first)."""
    row = await _locked(session, await _require(session, change.order_id))
    if (row.status, row.external_ref, row.amount_cents) != (
        change.status,
        change.ref,
        change.before_cents,
    ):
        raise OrderChangedMeanwhile("The order's payment changed meanwhile")
    if change.step in (AmountStep.unchanged, AmountStep.release):
        return row  # a release is stored by finish_amount_change, once the provider let go
    before = _snapshot(row)
    if change.step == AmountStep.increase:
        row.external_ref = change.replacement
    row.amount_cents = change.after_cents
    return await _save(session, row, "amount_changed", before)


async def finish_amount_change(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, change: AmountChange
) -> None:
    """After the change committed: release the hold a raise replaced, lower the
    PaymentIntent, or release the hold of an amount of 0. A provider failure here is logged
    and left to reconciliation (``minga payments reconcile`` releases holds of no order and
    reports amounts that differ): the order's change stands."""
    step = change.step
    try:
        if step == AmountStep.increase and change.ref:
            await provider_for(change.provider, settings).cancel(
                change.ref, idempotency_key=_key(change.order_id, change.ref, "replaced")
            )
        elif step == AmountStep.decrease:
            await provider_for(change.provider, settings).update_amount(
                change.ref,
                change.after_cents,
                idempotency_key=_key(change.order_id, change.ref, "amount", change.after_cents),
            )
        elif step == AmountStep.release:
            await release_for_order(sessionmaker, settings, order_id=change.order_id)
    except Exception:
        log.exception("finishing the payment change of order %s (%s)", change.order_id, step)


async def undo_amount_change(settings: Settings, change: AmountChange) -> None:
    """The change did not commit: release the new hold it placed, if any."""
    if not change.replacement:
        return
    try:
        await provider_for(change.provider, settings).cancel(
            change.replacement, idempotency_key=_key(change.order_id, change.replacement, "undo")
        )
    except Exception:
        log.exception("releasing hold %s of a change that did not land", change.replacement)


async def change_amount(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    order_id: str,
    amount_cents: int,
) -> PaymentAuthorization:
    """Hold ``amount_cents`` instead of the current amount, on its own (the close lowering
    the holds of cut orders): plan, place, record and finish, no lock held across the
    provider's calls. Card: a lower amount updates the PaymentIntent; a higher one places a
    new hold and releases the old (402 ``payment_declined`` when the card refuses the raise,
    and the old hold stays); 0 releases it. Invoice and cash: only the stored amount
    changes."""
    async with transaction(sessionmaker, write=False) as session:
        change = await plan_amount_change(session, order_id, amount_cents)
    change = await place_amount_change(settings, change)
    try:
        async with transaction(sessionmaker) as session:
            await record_amount_change(session, change)
    except BaseException:
        await undo_amount_change(settings, change)
        raise
    await finish_amount_change(sessionmaker, settings, change)
    async with transaction(sessionmaker, write=False) as session:
        return await _require(session, order_id)


async def release_for_order(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, *, order_id: str
) -> PaymentAuthorization | None:
    """Release the hold of a cancelled order, the provider called with no transaction
    open; ``None`` when the order had none. 409 ``payment_not_changeable`` once money was
    captured: that calls for a refund."""
    async with transaction(sessionmaker, write=False) as session:
        row = await current_authorization(session, order_id)
    if row is None or row.status == Status.cancelled:
        return row
    if row.status in TAKEN:
        raise PaymentNotChangeable("The payment was captured; refund it instead of cancelling")
    if row.status in (Status.authorized, Status.pending) and row.external_ref:
        await provider_for(row.provider, settings).cancel(
            row.external_ref, idempotency_key=_key(row.order_id, row.external_ref, "cancel")
        )
    async with transaction(sessionmaker) as session:
        return await _mark_cancelled(session, await _require(session, order_id))


async def _mark_cancelled(session: AsyncSession, row: PaymentAuthorization) -> PaymentAuthorization:
    """Record a hold the provider released (or that there was nothing to release)."""
    row = await _locked(session, row)
    before = _snapshot(row)
    if row.status == Status.cancelled:
        return row
    if row.status in TAKEN:  # captured by a settlement meanwhile: that calls for a refund
        raise PaymentNotChangeable("The payment was captured; refund it instead of cancelling")
    if moves_forward(row.status, Status.cancelled):
        row.status = Status.cancelled
    return await _save(session, row, "cancelled", before)


async def capture_for_order(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    order_id: str,
    final_amount_cents: int,
) -> PaymentAuthorization:
    """Take the final amount: capture it, or refund what was taken above it. The row is
    read, the provider called with no transaction open, then the row changed under its lock.

    Card: an authorised hold is captured at ``final_amount_cents`` (0 releases it); when more
    was captured before, the excess is refunded. 409 ``capture_exceeds_authorization`` when the
    final amount is above what the hold (or the earlier capture) allows. Invoice and cash: the
    stored amount becomes the final amount (the buyer pays it outside Minga).
    """
    if final_amount_cents < 0:
        raise ValueError("final_amount_cents must not be negative")
    async with transaction(sessionmaker, write=False) as session:
        row = await _require(session, order_id)
    if row.status == Status.not_required:
        if row.amount_cents == final_amount_cents:
            return row
        async with transaction(sessionmaker) as session:
            row = await _lock(session, row.id)
            before = _snapshot(row)
            row.amount_cents = final_amount_cents
            return await _save(session, row, "amount_finalised", before)
    if row.status == Status.authorized:
        return await _capture(sessionmaker, settings, row, final_amount_cents)
    if row.status in TAKEN:
        return await _refund_excess(sessionmaker, settings, row, final_amount_cents)
    if row.status == Status.cancelled and final_amount_cents == 0:
        return row
    raise PaymentNotChangeable(
        _l("The payment is {status}; nothing can be captured", status=row.status)
    )


async def _lock(session: AsyncSession, row_id: str) -> PaymentAuthorization:
    row = await session.get(
        PaymentAuthorization, row_id, with_for_update=True, populate_existing=True
    )
    assert row is not None  # authorisations are never deleted
    return row


async def _capture(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    row: PaymentAuthorization,
    amount_cents: int,
) -> PaymentAuthorization:
    if amount_cents > row.amount_cents:
        raise CaptureExceedsAuthorization(
            _l(
                "The final amount {amount} is above the {authorised} authorised",
                amount=amount_cents,
                authorised=row.amount_cents,
            )
        )
    if amount_cents == 0:
        released = await release_for_order(sessionmaker, settings, order_id=row.order_id)
        assert released is not None
        return released
    provider = provider_for(row.provider, settings)
    taken = await provider.capture(
        row.external_ref,
        amount_cents,
        idempotency_key=_key(row.order_id, row.external_ref, "capture", amount_cents),
    )
    async with transaction(sessionmaker) as session:
        row = await _lock(session, row.id)
        before = _snapshot(row)
        row.captured_cents = max(row.captured_cents, taken.amount_cents)
        if moves_forward(row.status, Status.captured):
            row.status = Status.captured
        return await _save(session, row, "captured", before)


async def _refund_excess(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    row: PaymentAuthorization,
    final_amount_cents: int,
) -> PaymentAuthorization:
    kept = row.captured_cents - row.refunded_cents
    if final_amount_cents == kept:
        return row
    if final_amount_cents > kept:
        raise CaptureExceedsAuthorization(
            _l(
                "{kept} is already taken and cannot grow to {amount}",
                kept=kept,
                amount=final_amount_cents,
            )
        )
    provider = provider_for(row.provider, settings)
    # What is kept only ever shrinks, so the final amount names the refund step uniquely.
    await provider.refund(
        row.external_ref,
        kept - final_amount_cents,
        idempotency_key=_key(row.order_id, row.external_ref, "refund-to", final_amount_cents),
    )
    async with transaction(sessionmaker) as session:
        row = await _lock(session, row.id)
        before = _snapshot(row)
        row.refunded_cents = min(
            row.captured_cents, max(row.refunded_cents, row.captured_cents - final_amount_cents)
        )
        status = (
            Status.refunded
            if row.refunded_cents >= row.captured_cents
            else Status.partially_refunded
        )
        if moves_forward(row.status, status):
            row.status = status
        return await _save(session, row, "refunded", before)


# --- invoice and cash on delivery at placement: stored with the order, nothing looked up ---

_authorizations: Any = PaymentAuthorization.__table__  # type: ignore[attr-defined]
INSERT_AUTHORIZATION = sa.insert(_authorizations)
ON_TERMS = frozenset({PaymentMethod.invoice, PaymentMethod.cash_on_delivery})


async def record_terms(
    conn: AsyncConnection,
    settings: Settings,
    *,
    order_id: str,
    buyer_id: str,
    payment_terms_days: int | None,
    method: PaymentMethod | str,
    amount_cents: int,
    currency: str,
    now: datetime,
) -> Authorization:
    """The terms of an invoice or cash order, stored in the order's own transaction: no
    provider is called (nothing is held), a new order has no authorisation to look up, and
    no audit row is written (no money moved; the order's event records the placing)."""
    if PaymentMethod(method) not in ON_TERMS:
        raise ValueError(f"{method} holds money: use hold and record_hold")
    provider = provider_for(method, settings, payment_terms_days=payment_terms_days)
    held = await provider.authorize(
        amount_cents=amount_cents,
        currency=currency,
        payment_method_id=None,
        customer_ref=None,
        idempotency_key=_key(order_id, "authorize", amount_cents, "-"),
        metadata={"order_id": order_id, "buyer_id": buyer_id},
    )
    await conn.execute(
        INSERT_AUTHORIZATION,
        {
            "id": new_id(),
            "order_id": order_id,
            "buyer_id": buyer_id,
            "provider": held.provider,
            "status": held.status,
            "amount_cents": held.amount_cents,
            "captured_cents": 0,
            "refunded_cents": 0,
            "currency": held.currency,
            "due_in_days": held.due_in_days,
            "created_at": now,
            "updated_at": now,
        },
    )
    return held

"""Placing an order from the API.

An invoice or cash order calls no provider: it is placed in one write transaction of a few
prebuilt statements (``app.orders.service.place_on_terms``: the gate, one reserving UPDATE
per SKU, the order, its lines, its payment row and event), and its ``Idempotency-Key`` is
claimed by the last of them, an ``INSERT … ON CONFLICT DO NOTHING`` that stores the answer.
A key that was there already rolls the work back and is answered by ``claim``: the first
answer again, 422 for another body, a wait then 409 while a card order holds it, or a key
whose time ran out taken over (the work then runs again and completes that claim). A keyed
request that fails is answered with the stored answer of its key if there is one, so a retry
after the cycle closed still gets its order.

A card order is placed in three steps, so that no transaction (and, on SQLite, no database
write lock) is open while the card provider is called:

1. The ``Idempotency-Key`` is claimed in a transaction of its own: a retried key gets the
   first answer at once (no second hold is even asked for), a duplicate in flight waits for
   it or gets 409. Then, in a read transaction, the order is checked and priced.
2. No transaction: the provider holds the estimate (a declined card is a 402 and nothing
   is stored). The provider call carries an idempotency key derived from the claim, so a
   retry reuses the same hold.
3. A write transaction: the cycle is re-read under its shared lock and must still be open,
   the stock is reserved, and the order, its lines, its authorisation and the stored answer
   are written together. If that fails (short stock, the cycle closed meanwhile), the hold
   is released at the provider.

Changing an order (PATCH) goes the same way: priced in a read transaction; a raise of a
card hold placed with no transaction open; the lines, the stock and the new amount stored
under the order's lock — for a raise, provided nothing changed meanwhile (else it starts
again, a few times, then answers 409 ``order_changed_meanwhile``); any other change is
re-priced under the lock and never conflicts —; after commit the replaced hold is released
or the PaymentIntent lowered. Cancelling releases the hold after the commit.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import status
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts.principal import Principal
from app.core import idempotency
from app.core.config import Settings
from app.core.db import transaction, write_connection
from app.core.i18n import _l
from app.core.idempotency import Claim, claim, give_back, idempotent
from app.core.timeutil import utcnow
from app.orders import service as orders
from app.orders.cycles import get_cycle
from app.orders.exceptions import OrderChangedMeanwhile
from app.orders.schemas import OrderCreate, OrderPublic, OrderUpdate, PaymentPublic
from app.payments import service as payments
from app.payments.exceptions import PaymentNotChangeable

log = logging.getLogger(__name__)
SCOPE = "orders.place"
CHANGE_ATTEMPTS = 3


class _KeyTaken(Exception):
    """The Idempotency-Key was there already: roll the work back and ask ``claim``."""


async def place_order(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    data: OrderCreate,
    *,
    idempotency_key: str | None,
) -> JSONResponse:
    who = principal.user_id or f"key:{principal.api_key_id}"
    body = data.model_dump(mode="json")
    if data.payment_method in payments.ON_TERMS:
        return await _place_on_terms(
            sessionmaker, settings, principal, data, who, body, idempotency_key
        )
    claimed: Claim | None = None
    if idempotency_key is not None:
        got = await claim(sessionmaker, scope=SCOPE, principal=who, key=idempotency_key, body=body)
        if isinstance(got, JSONResponse):
            return got  # the first request's answer: no second hold is even asked for
        claimed = got
    try:
        return await _place(sessionmaker, settings, principal, data, who, idempotency_key, claimed)
    except BaseException:
        if claimed is not None:
            await give_back(sessionmaker, claimed)
        raise


async def _place_on_terms(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    data: OrderCreate,
    who: str,
    body: dict[str, Any],
    key: str | None,
) -> JSONResponse:
    engine: AsyncEngine = sessionmaker.kw["bind"]
    digest = idempotency.request_hash(SCOPE, body) if key is not None else ""
    claimed: Claim | None = None
    while True:
        try:
            async with write_connection(engine) as conn:
                content = await _on_terms(conn, settings, principal, data)
                if key is None:
                    pass
                elif claimed is not None:
                    await idempotency.complete_on(conn, claimed, status.HTTP_201_CREATED, content)
                elif not await idempotency.store_first(
                    conn,
                    scope=SCOPE,
                    principal=who,
                    key=key,
                    digest=digest,
                    status_code=status.HTTP_201_CREATED,
                    content=content,
                ):
                    raise _KeyTaken()
        except _KeyTaken:
            got = await claim(sessionmaker, scope=SCOPE, principal=who, key=key or "", body=body)
            if isinstance(got, JSONResponse):
                return got
            claimed = got  # an expired key, taken over: the work runs again for this claim
            continue
        except Exception:
            if claimed is not None:
                await give_back(sessionmaker, claimed)
            elif key is not None:
                stored = await idempotency.stored_answer(
                    sessionmaker, scope=SCOPE, principal=who, key=key, digest=digest
                )
                if stored is not None:
                    return stored
            raise
        orders.count_placed()
        return JSONResponse(content, status_code=status.HTTP_201_CREATED)


async def _on_terms(
    conn: AsyncConnection, settings: Settings, principal: Principal, data: OrderCreate
) -> dict[str, Any]:
    now = utcnow()

    async def pay(gate: orders.Gate, order_id: str, total: int) -> PaymentPublic:
        held = await payments.record_terms(
            conn,
            settings,
            order_id=order_id,
            buyer_id=data.buyer_id,
            payment_terms_days=gate.payment_terms_days,
            method=data.payment_method,
            amount_cents=total,
            currency=gate.currency,
            now=now,
        )
        return PaymentPublic.model_construct(
            method=held.provider,
            status=held.status,
            amount_cents=held.amount_cents,
            due_in_days=held.due_in_days,
        )

    public = await orders.place_on_terms(conn, principal, data, now=now, pay=pay)
    content: dict[str, Any] = public.model_dump(mode="json")
    return content


async def _place(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    data: OrderCreate,
    who: str,
    idempotency_key: str | None,
    claimed: Claim | None,
) -> JSONResponse:
    async with transaction(sessionmaker, write=False) as session:
        buyer = await orders.buyer_of_order(session, principal, data.buyer_id)
        cycle = await get_cycle(session, data.cycle_id)
        prepared = await orders.prepare(
            session,
            actor=principal,
            cycle=cycle,
            buyer=buyer,
            lines=data.lines,
            payment_method=data.payment_method,
            payment_method_id=data.payment_method_id,
            purchase_order_number=data.purchase_order_number,
            now=utcnow(),
        )
    order = prepared.order
    held = await payments.hold(
        settings,
        order_id=order.id,
        method=order.payment_method,
        amount_cents=order.total_cents,
        currency=order.currency,
        payment_method_id=order.payment_method_id,
        buyer=buyer,
        # a retry of this request after a crash takes its claim over (the same claim id) and
        # so reuses this hold at Stripe; a failed attempt's claim is given back and its hold
        # released, and the retry's new claim asks for a new hold
        idempotency_key=f"claim:{claimed.id}" if claimed else None,
    )

    async def run(session: AsyncSession) -> tuple[int, OrderPublic]:
        placed = await orders.store(session, prepared, actor=principal, now=utcnow())
        await payments.record_hold(session, order_id=placed.id, buyer=buyer, held=held)
        return status.HTTP_201_CREATED, (await orders.order_publics(session, [placed]))[0]

    try:
        return await idempotent(
            sessionmaker,
            scope=SCOPE,
            principal=who,
            key=idempotency_key,
            body=data.model_dump(mode="json"),
            run=run,
            claimed=claimed,
        )
    except BaseException:
        # the order did not land: give its hold back (this request's own: the key is ours)
        try:
            await payments.release(settings, held, order_id=order.id)
        except Exception:
            log.exception("releasing the hold of order %s that did not land", order.id)
        raise


async def cancel_order(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    order_id: str,
) -> OrderPublic:
    """Cancel under the order's lock and give the stock back, commit, then release the hold
    at the provider with no order or cycle row locked."""
    async with transaction(sessionmaker) as session:
        order = await orders.cancel_order(session, principal, order_id)
    await payments.release_for_order(sessionmaker, settings, order_id=order.id)
    return await _public(sessionmaker, principal, order.id)


async def change_order(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    order_id: str,
    data: OrderUpdate,
) -> OrderPublic:
    """Replace the order's lines until the cut-off; the stock and the hold follow, and no
    provider call is made while the order's or the cycle's row is locked."""
    for _ in range(CHANGE_ATTEMPTS):
        try:
            async with transaction(sessionmaker, write=False) as session:
                total = await orders.price_change(session, principal, order_id, data)
                change = await payments.plan_amount_change(session, order_id, total)
        except PaymentNotChangeable:
            # a cancel that committed after the order was read released its hold: answer
            # for the order as it is now (409 order_not_changeable) if that is what happened
            async with transaction(sessionmaker, write=False) as session:
                await orders.price_change(session, principal, order_id, data)
            raise
        change = await payments.place_amount_change(settings, change)
        try:
            async with transaction(sessionmaker) as session:
                # a new hold was placed for this very total; otherwise no provider call
                # comes before the commit, so the change is re-planned under the lock
                held_for = total if change.replacement else None
                order = await orders.change_order(
                    session, principal, order_id, data, expected_total_cents=held_for
                )
                if held_for is None:
                    change = await payments.plan_amount_change(session, order_id, order.total_cents)
                    if change.step == payments.AmountStep.increase:
                        raise OrderChangedMeanwhile("The new total needs a new hold")
                await payments.record_amount_change(session, change)
        except OrderChangedMeanwhile:
            await payments.undo_amount_change(settings, change)
            continue
        except BaseException:
            await payments.undo_amount_change(settings, change)
            raise
        await payments.finish_amount_change(sessionmaker, settings, change)
        return await _public(sessionmaker, principal, order_id)
    raise OrderChangedMeanwhile(
        _l("The order changed {n} times while this change ran", n=CHANGE_ATTEMPTS)
    )


async def _public(
    sessionmaker: async_sessionmaker[AsyncSession], principal: Principal, order_id: str
) -> OrderPublic:
    async with transaction(sessionmaker, write=False) as session:
        stored = await orders.get_order(session, principal, order_id)
        return (await orders.order_publics(session, [stored]))[0]

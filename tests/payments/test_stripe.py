"""Card payments through the official SDK against a real Stripe-compatible server."""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from fastapi import FastAPI
from sqlmodel import col, func, select

from app.accounts.models import Organization
from app.core.problems import Problem
from app.orders.models import PaymentMethod
from app.payments import service
from app.payments.exceptions import (
    CaptureExceedsAuthorization,
    PaymentDeclined,
    PaymentMethodRequired,
    PaymentNotChangeable,
)
from app.payments.models import AuthorizationStatus, PaymentAuthorization
from tests.payments.helpers import DECLINED_CARD, Db, card

pytestmark = pytest.mark.filterwarnings(
    # stripe's HTTPXClient posts its form body with httpx's deprecated ``data=<str>``
    "ignore:Use 'content=<...>' to upload raw bytes/text content:DeprecationWarning"
)

Status = AuthorizationStatus


async def _intent(sdk: stripe.StripeClient, ref: str | None) -> dict[str, Any]:
    assert ref
    return (await sdk.v1.payment_intents.retrieve_async(ref)).to_dict()


async def _charge(sdk: stripe.StripeClient, intent: dict[str, Any]) -> dict[str, Any]:
    charge = intent["latest_charge"]
    charge_id = charge if isinstance(charge, str) else charge["id"]
    return (await sdk.v1.charges.retrieve_async(charge_id)).to_dict()


async def _authorize(
    app: FastAPI,
    db: Db,
    buyer: Organization,
    order_id: str,
    payment_method_id: str | None,
    amount_cents: int = 10_000,
) -> PaymentAuthorization:
    async with db.session() as session:
        return await service.authorize_order(
            session,
            app.state.settings,
            order_id=order_id,
            method=PaymentMethod.card,
            amount_cents=amount_cents,
            currency="USD",
            payment_method_id=payment_method_id,
            buyer=buyer,
            idempotency_key=f"client-{order_id}",
        )


async def test_authorize_holds_the_amount_with_manual_capture(
    app: FastAPI, db: Db, buyer: Organization, sdk: stripe.StripeClient
) -> None:
    pm = await card(sdk)
    row = await _authorize(app, db, buyer, "order-card-1", pm)
    assert row.status == Status.authorized
    assert row.provider == "card"
    intent = await _intent(sdk, row.external_ref)
    assert intent["status"] == "requires_capture"
    assert int(intent["amount"]) == 10_000
    assert intent["currency"] == "usd"
    assert intent["capture_method"] == "manual"
    assert intent["payment_method"] == pm
    assert intent["metadata"] == {"order_id": "order-card-1", "buyer_id": buyer.id}


async def test_authorizing_twice_holds_once(
    app: FastAPI, db: Db, buyer: Organization, sdk: stripe.StripeClient
) -> None:
    pm = await card(sdk)
    first = await _authorize(app, db, buyer, "order-card-2", pm)
    second = await _authorize(app, db, buyer, "order-card-2", pm)
    assert second.id == first.id
    assert second.external_ref == first.external_ref
    intents = await sdk.v1.payment_intents.list_async({"limit": 100})
    mine = [i for i in intents.data if i.to_dict()["metadata"].get("order_id") == "order-card-2"]
    assert len(mine) == 1
    async with db.session() as session:
        count = await session.scalar(
            select(func.count()).where(col(PaymentAuthorization.order_id) == "order-card-2")
        )
        assert count == 1


async def test_declined_card_is_a_402_problem_and_stores_nothing(
    app: FastAPI, db: Db, buyer: Organization, sdk: stripe.StripeClient
) -> None:
    pm = await card(sdk, DECLINED_CARD)
    with pytest.raises(PaymentDeclined) as caught:
        await _authorize(app, db, buyer, "order-declined", pm)
    problem: Problem = caught.value
    assert problem.status == 402
    assert problem.code == "payment_declined"
    assert "declined" in problem.detail.lower()
    async with db.session() as session:
        assert await service.current_authorization(session, "order-declined") is None


async def test_card_needs_a_payment_method(
    app: FastAPI, db: Db, buyer: Organization, stripe_settings: str
) -> None:
    with pytest.raises(PaymentMethodRequired) as caught:
        await _authorize(app, db, buyer, "order-no-pm", None)
    assert caught.value.status == 422


async def test_cancel_releases_the_hold_once(
    app: FastAPI, db: Db, buyer: Organization, sdk: stripe.StripeClient
) -> None:
    row = await _authorize(app, db, buyer, "order-cancel", await card(sdk))
    for _ in range(2):
        cancelled = await service.release_for_order(
            app.state.sessionmaker, app.state.settings, order_id="order-cancel"
        )
        assert cancelled is not None
        assert cancelled.status == Status.cancelled
    assert (await _intent(sdk, row.external_ref))["status"] == "canceled"
    with pytest.raises(PaymentNotChangeable):
        await service.capture_for_order(
            app.state.sessionmaker, app.state.settings, "order-cancel", 500
        )


async def test_capture_at_a_lower_final_amount_then_refund_the_excess(
    app: FastAPI, db: Db, buyer: Organization, sdk: stripe.StripeClient
) -> None:
    settings, maker = app.state.settings, app.state.sessionmaker
    row = await _authorize(app, db, buyer, "order-capture", await card(sdk))
    for _ in range(2):  # capturing again changes nothing
        captured = await service.capture_for_order(maker, settings, "order-capture", 8_250)
        assert (captured.status, captured.captured_cents) == (Status.captured, 8_250)
    intent = await _intent(sdk, row.external_ref)
    assert intent["status"] == "succeeded"
    charge = await _charge(sdk, intent)
    # Stripe (and localstripe) release the uncaptured 1 750 as a refund of the charge.
    assert charge["captured"] is True
    assert charge["amount"] - charge["amount_refunded"] == 8_250

    # A shortage found at delivery: the buyer gets 1 000 back, once.
    for _ in range(2):
        refunded = await service.capture_for_order(maker, settings, "order-capture", 7_250)
        assert refunded.status == Status.partially_refunded
        assert (refunded.captured_cents, refunded.refunded_cents) == (8_250, 1_000)
    charge = await _charge(sdk, intent)
    assert charge["amount"] - charge["amount_refunded"] == 7_250

    with pytest.raises(CaptureExceedsAuthorization) as caught:
        await service.capture_for_order(maker, settings, "order-capture", 9_000)
    assert caught.value.status == 409
    everything = await service.capture_for_order(maker, settings, "order-capture", 0)
    assert everything.status == Status.refunded
    assert everything.refunded_cents == 8_250
    charge = await _charge(sdk, intent)
    assert charge["amount_refunded"] == charge["amount"]


async def test_capture_above_the_hold_is_refused(
    app: FastAPI, db: Db, buyer: Organization, sdk: stripe.StripeClient
) -> None:
    row = await _authorize(app, db, buyer, "order-over", await card(sdk), amount_cents=5_000)
    with pytest.raises(CaptureExceedsAuthorization):
        await service.capture_for_order(
            app.state.sessionmaker, app.state.settings, "order-over", 5_001
        )
    assert (await _intent(sdk, row.external_ref))["status"] == "requires_capture"


async def test_lowering_the_amount_updates_the_intent(
    app: FastAPI, db: Db, buyer: Organization, sdk: stripe.StripeClient
) -> None:
    row = await _authorize(app, db, buyer, "order-lower", await card(sdk))
    lowered = await service.change_amount(
        app.state.sessionmaker, app.state.settings, order_id="order-lower", amount_cents=6_000
    )
    assert lowered.external_ref == row.external_ref
    assert lowered.amount_cents == 6_000
    intent = await _intent(sdk, row.external_ref)
    assert int(intent["amount"]) == 6_000
    assert intent["status"] == "requires_capture"


async def test_raising_the_amount_holds_anew_and_releases_the_old_hold(
    app: FastAPI, db: Db, buyer: Organization, sdk: stripe.StripeClient
) -> None:
    row = await _authorize(app, db, buyer, "order-raise", await card(sdk))
    raised = await service.change_amount(
        app.state.sessionmaker, app.state.settings, order_id="order-raise", amount_cents=12_500
    )
    assert raised.id == row.id
    assert raised.external_ref != row.external_ref
    assert raised.amount_cents == 12_500
    new = await _intent(sdk, raised.external_ref)
    assert (int(new["amount"]), new["status"]) == (12_500, "requires_capture")
    assert new["metadata"]["order_id"] == "order-raise"
    assert (await _intent(sdk, row.external_ref))["status"] == "canceled"


async def test_a_declined_raise_keeps_the_old_hold(
    app: FastAPI, db: Db, buyer: Organization, sdk: stripe.StripeClient
) -> None:
    # The card is good for the first hold, then the buyer's bank declines the new one: the
    # payment method is swapped for a declining card behind Minga's back to simulate that.
    row = await _authorize(app, db, buyer, "order-raise-declined", await card(sdk))
    declining = await card(sdk, DECLINED_CARD)
    assert row.external_ref
    await sdk.v1.payment_intents.update_async(row.external_ref, {"payment_method": declining})
    with pytest.raises(PaymentDeclined):
        await service.change_amount(
            app.state.sessionmaker,
            app.state.settings,
            order_id="order-raise-declined",
            amount_cents=20_000,
        )
    async with db.session() as session:
        kept = await service.current_authorization(session, "order-raise-declined")
        assert kept is not None
        assert (kept.external_ref, kept.amount_cents) == (row.external_ref, 10_000)
    assert (await _intent(sdk, row.external_ref))["status"] == "requires_capture"

"""The Stripe webhook: signed like Stripe signs, stored once, applied without going back."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import stripe
from fastapi import FastAPI
from sqlmodel import col, func, select

from app.accounts.models import Organization
from app.orders.models import PaymentMethod
from app.payments import service, webhooks
from app.payments.models import AuthorizationStatus, EventSource, PaymentAuthorization, PaymentEvent
from tests.payments.helpers import Db, card, event, post_event, sign
from tests.utils import assert_problem

pytestmark = pytest.mark.filterwarnings(
    # stripe's HTTPXClient posts its form body with httpx's deprecated ``data=<str>``
    "ignore:Use 'content=<...>' to upload raw bytes/text content:DeprecationWarning"
)

Status = AuthorizationStatus


async def _held(db: Db, buyer: Organization, ref: str, **fields: Any) -> PaymentAuthorization:
    """An authorisation as the service leaves it after a successful card hold."""
    values: dict[str, Any] = {
        "order_id": f"order-{ref}",
        "buyer_id": buyer.id,
        "provider": PaymentMethod.card,
        "status": Status.authorized,
        "amount_cents": 10_000,
        "currency": "USD",
        "external_ref": ref,
    }
    row = PaymentAuthorization(**(values | fields))
    async with db.session() as session:
        session.add(row)
    return row


async def _row(db: Db, row_id: str) -> PaymentAuthorization:
    async with db.session() as session:
        found = await session.get(PaymentAuthorization, row_id)
        assert found is not None
        return found


async def _events(db: Db) -> list[PaymentEvent]:
    async with db.session() as session:
        return list((await session.scalars(select(PaymentEvent))).all())


def _intent(ref: str, status: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": ref,
        "object": "payment_intent",
        "amount": 10_000,
        "currency": "usd",
        "capture_method": "manual",
        "status": status,
        **fields,
    }


async def test_a_signed_event_updates_the_authorisation(
    client: httpx.AsyncClient, app: FastAPI, db: Db, buyer: Organization, sdk: stripe.StripeClient
) -> None:
    async with db.session() as session:
        row = await service.authorize_order(
            session,
            app.state.settings,
            order_id="order-webhook",
            method=PaymentMethod.card,
            amount_cents=10_000,
            currency="USD",
            payment_method_id=await card(sdk),
            buyer=buyer,
        )
    assert row.external_ref
    # The network captures from the Stripe dashboard; Stripe tells Minga by webhook.
    captured = await sdk.v1.payment_intents.capture_async(
        row.external_ref, {"amount_to_capture": 9_000}
    )
    payload = captured.to_dict()
    payload.setdefault("amount_received", 9_000)  # Stripe sends it; localstripe leaves it out
    body = event("payment_intent.succeeded", payload)

    r = await post_event(client, body)

    assert r.status_code == 200, r.text
    assert r.json() == {"received": True, "duplicate": False}
    updated = await _row(db, row.id)
    assert (updated.status, updated.captured_cents) == (Status.captured, 9_000)
    [stored] = await _events(db)
    assert (stored.source, stored.type) == ("stripe", "payment_intent.succeeded")
    assert stored.payload["data"]["object"]["id"] == row.external_ref
    assert stored.processed_at is not None


@pytest.mark.parametrize(
    "signature",
    [
        pytest.param(lambda body: sign(body, secret="whsec_forged"), id="wrong-secret"),
        pytest.param(lambda body: sign(body + " "), id="other-body"),
        pytest.param(lambda body: sign(body, timestamp=int(time.time()) - 3600), id="stale"),
        pytest.param(lambda body: "t=1,v0=abc", id="malformed"),
        pytest.param(lambda body: "", id="missing"),
    ],
)
async def test_a_forged_signature_is_refused(
    client: httpx.AsyncClient,
    db: Db,
    buyer: Organization,
    webhook_secret: str,
    signature: Any,
) -> None:
    row = await _held(db, buyer, "pi_forged")
    body = event("payment_intent.canceled", _intent("pi_forged", "canceled"))
    headers = {"Content-Type": "application/json"}
    if header := signature(body):
        headers["Stripe-Signature"] = header

    r = await client.post("/api/v1/payments/stripe/webhook", content=body, headers=headers)

    assert_problem(r, 400, "invalid_signature")
    assert (await _row(db, row.id)).status == Status.authorized
    assert await _events(db) == []


async def test_the_same_event_twice_is_applied_once(
    client: httpx.AsyncClient,
    db: Db,
    buyer: Organization,
    webhook_secret: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    changes: list[tuple[str, str, str]] = []
    monkeypatch.setattr(webhooks, "_callbacks", [])

    @webhooks.on_status_change
    async def remember(_: object, row: PaymentAuthorization, previous: Status) -> None:
        changes.append((row.id, previous, row.status))

    row = await _held(db, buyer, "pi_twice", status=Status.pending)
    body = event(
        "payment_intent.amount_capturable_updated", _intent("pi_twice", "requires_capture")
    )

    first = await post_event(client, body)
    second = await post_event(client, body)

    assert first.json() == {"received": True, "duplicate": False}
    assert second.status_code == 200
    assert second.json() == {"received": True, "duplicate": True}
    assert (await _row(db, row.id)).status == Status.authorized
    assert changes == [(row.id, "pending", "authorized")]
    assert len(await _events(db)) == 1


async def test_an_older_event_after_a_newer_one_changes_nothing(
    client: httpx.AsyncClient, db: Db, buyer: Organization, webhook_secret: str
) -> None:
    row = await _held(db, buyer, "pi_late", status=Status.pending)
    now = int(time.time())
    held = event(
        "payment_intent.amount_capturable_updated",
        _intent("pi_late", "requires_capture"),
        created=now - 60,
    )
    cancelled = event("payment_intent.canceled", _intent("pi_late", "canceled"), created=now)

    assert (await post_event(client, cancelled)).status_code == 200
    late = await post_event(client, held)

    assert late.json() == {"received": True, "duplicate": False}
    assert (await _row(db, row.id)).status == Status.cancelled
    assert len(await _events(db)) == 2


async def test_a_late_failure_does_not_undo_a_capture(
    client: httpx.AsyncClient, db: Db, buyer: Organization, webhook_secret: str
) -> None:
    row = await _held(db, buyer, "pi_failed_late", status=Status.captured, captured_cents=10_000)
    body = event(
        "payment_intent.payment_failed", _intent("pi_failed_late", "requires_payment_method")
    )
    assert (await post_event(client, body)).status_code == 200
    assert (await _row(db, row.id)).status == Status.captured


async def test_charge_refunded_after_a_partial_capture(
    client: httpx.AsyncClient, db: Db, buyer: Organization, webhook_secret: str
) -> None:
    row = await _held(db, buyer, "pi_refund", status=Status.captured, captured_cents=7_000)
    charge = {
        "id": "ch_refund",
        "object": "charge",
        "payment_intent": "pi_refund",
        "amount": 10_000,
        "amount_captured": 7_000,
        # 3 000 released at capture + 2 000 given back since
        "amount_refunded": 5_000,
        "captured": True,
        "refunded": False,
    }
    assert (await post_event(client, event("charge.refunded", charge))).status_code == 200
    updated = await _row(db, row.id)
    assert (updated.status, updated.refunded_cents) == (Status.partially_refunded, 2_000)

    charge["amount_refunded"] = 10_000
    charge["refunded"] = True
    assert (await post_event(client, event("charge.refunded", charge))).status_code == 200
    updated = await _row(db, row.id)
    assert (updated.status, updated.refunded_cents) == (Status.refunded, 7_000)


async def test_unknown_intents_and_event_types_are_stored_and_ignored(
    client: httpx.AsyncClient, db: Db, buyer: Organization, webhook_secret: str
) -> None:
    row = await _held(db, buyer, "pi_known")
    unknown_intent = event("payment_intent.canceled", _intent("pi_nobody_knows", "canceled"))
    other_type = event("customer.created", {"id": "cus_1", "object": "customer"})

    for body in (unknown_intent, other_type):
        r = await post_event(client, body)
        assert r.status_code == 200, r.text
        assert r.json()["duplicate"] is False

    assert (await _row(db, row.id)).status == Status.authorized
    assert sorted(e.type for e in await _events(db)) == [
        "customer.created",
        "payment_intent.canceled",
    ]


async def test_a_signed_body_that_is_not_an_event_is_refused(
    client: httpx.AsyncClient, webhook_secret: str
) -> None:
    r = await post_event(client, "not json")
    assert_problem(r, 400, "invalid_webhook_payload")


async def test_webhooks_without_a_secret_are_unavailable(
    client: httpx.AsyncClient, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.settings, "stripe_webhook_secret", None)
    r = await post_event(client, event("customer.created", {"id": "cus_1"}))
    assert_problem(r, 503, "stripe_webhooks_not_configured")


async def test_the_webhook_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    operation = spec["paths"]["/api/v1/payments/stripe/webhook"]["post"]
    assert {"200", "400", "503"} <= set(operation["responses"])
    assert "security" not in operation


async def test_events_are_stored_once_per_source_and_id(db: Db) -> None:
    async with db.session() as session:
        first = await webhooks.store_event(
            session, source=EventSource.stripe, external_id="evt_1", type="x", payload={}
        )
        again = await webhooks.store_event(
            session, source=EventSource.stripe, external_id="evt_1", type="x", payload={}
        )
        assert first is not None
        assert again is None
        count = await session.scalar(
            select(func.count()).where(col(PaymentEvent.external_id) == "evt_1")
        )
        assert count == 1

"""Invoice and cash on delivery move no money; card needs a Stripe key."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from sqlmodel import col, select

from app.accounts.models import AuditEvent, Organization
from app.payments import service
from app.payments.exceptions import CardPaymentsUnavailable
from app.payments.models import AuthorizationStatus, PaymentAuthorization
from app.payments.providers import (
    CashOnDeliveryProvider,
    InvoiceProvider,
    PaymentMethod,
    provider_for,
)
from tests.payments.helpers import Db


async def test_invoice_terms_come_from_the_buyer_with_30_days_by_default(app: FastAPI) -> None:
    settings = app.state.settings
    default = provider_for(PaymentMethod.invoice, settings)
    own = provider_for("invoice", settings, payment_terms_days=45)
    assert isinstance(default, InvoiceProvider)
    held = await default.authorize(
        amount_cents=1250,
        currency="USD",
        payment_method_id=None,
        customer_ref=None,
        idempotency_key="k",
        metadata={},
    )
    assert held.status is AuthorizationStatus.not_required
    assert held.due_in_days == 30
    assert held.external_ref is None
    held = await own.authorize(
        amount_cents=1250,
        currency="USD",
        payment_method_id=None,
        customer_ref=None,
        idempotency_key="k",
        metadata={},
    )
    assert held.due_in_days == 45


async def test_cash_on_delivery_holds_nothing(app: FastAPI) -> None:
    provider = provider_for(PaymentMethod.cash_on_delivery, app.state.settings)
    assert isinstance(provider, CashOnDeliveryProvider)
    held = await provider.authorize(
        amount_cents=900,
        currency="USD",
        payment_method_id=None,
        customer_ref=None,
        idempotency_key="k",
        metadata={},
    )
    assert (held.status, held.due_in_days, held.external_ref) == (
        AuthorizationStatus.not_required,
        None,
        None,
    )


def test_card_without_a_stripe_key_is_unavailable(
    app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app.state.settings, "stripe_api_key", None)
    with pytest.raises(CardPaymentsUnavailable) as caught:
        provider_for(PaymentMethod.card, app.state.settings)
    assert caught.value.status == 422
    assert caught.value.code == "card_payments_unavailable"


async def test_invoice_order_lifecycle_is_stored_and_idempotent(
    app: FastAPI, db: Db, buyer: Organization
) -> None:
    settings = app.state.settings
    for _ in range(2):  # the second call returns the first authorisation
        async with db.session() as session:
            row = await service.authorize_order(
                session,
                settings,
                order_id="order-inv-1",
                method=PaymentMethod.invoice,
                amount_cents=10_000,
                currency="USD",
                payment_method_id=None,
                buyer=buyer,
                idempotency_key="client-key-1",
            )
    async with db.session() as session:
        rows = (
            await session.scalars(
                select(PaymentAuthorization).where(
                    col(PaymentAuthorization.order_id) == "order-inv-1"
                )
            )
        ).all()
        assert len(rows) == 1
        assert rows[0].id == row.id
        assert rows[0].provider == "invoice"
        assert rows[0].status == AuthorizationStatus.not_required
        assert rows[0].due_in_days == 45
        assert rows[0].buyer_id == buyer.id

    changed = await service.change_amount(
        app.state.sessionmaker, settings, order_id="order-inv-1", amount_cents=8_000
    )
    assert changed.amount_cents == 8_000
    final = await service.capture_for_order(app.state.sessionmaker, settings, "order-inv-1", 7_500)
    assert (final.status, final.amount_cents, final.captured_cents) == (
        AuthorizationStatus.not_required,
        7_500,
        0,
    )
    async with db.session() as session:
        trail = (
            await session.scalars(
                select(AuditEvent.action).where(col(AuditEvent.object_id) == row.id)
            )
        ).all()
        assert sorted(trail) == [
            "payment.amount_changed",
            "payment.amount_finalised",
            "payment.authorized",
        ]


async def test_cancelling_a_cash_order_needs_no_provider(
    app: FastAPI, db: Db, buyer: Organization
) -> None:
    settings = app.state.settings
    async with db.session() as session:
        await service.authorize_order(
            session,
            settings,
            order_id="order-cod-1",
            method="cash_on_delivery",
            amount_cents=3_000,
            currency="USD",
            payment_method_id=None,
            buyer=buyer,
        )
    for _ in range(2):
        row = await service.release_for_order(
            app.state.sessionmaker, settings, order_id="order-cod-1"
        )
        assert row is not None
        assert row.status == AuthorizationStatus.cancelled
    assert (
        await service.release_for_order(app.state.sessionmaker, settings, order_id="no-such")
        is None
    )

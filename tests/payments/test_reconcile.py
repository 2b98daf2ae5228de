"""Reconciliation: a Stripe hold that belongs to no order (its request died between the hold
and the order) is released; one that Minga sees differently is reported."""

from __future__ import annotations

from datetime import timedelta

import pytest
import stripe
from fastapi import FastAPI
from sqlalchemy import update

from app.payments.models import PaymentAuthorization
from app.payments.reconcile import reconcile
from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.orders.conftest import Market, market  # noqa: F401
from tests.payments.conftest import localstripe, sdk, stripe_settings  # noqa: F401
from tests.payments.helpers import card

pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
)


async def test_an_orphan_hold_is_released_and_a_mismatch_reported(
    market: Market,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
    app: FastAPI,
) -> None:
    m = market
    r = await m.order("3", payment_method="card", payment_method_id=await card(sdk))
    assert r.status_code == 201, r.text
    ghost = await sdk.v1.payment_intents.create_async(
        {
            "amount": 1200,
            "currency": "usd",
            "capture_method": "manual",
            "payment_method": await card(sdk),
            "confirm": True,
            "metadata": {"order_id": "a-request-that-died"},
        }
    )
    assert ghost.status == "requires_capture"
    sm, settings = app.state.sessionmaker, app.state.settings

    report = await reconcile(sm, settings, grace=timedelta(0))
    assert report.cancelled == [ghost.id]
    assert report.mismatches == []
    assert (await sdk.v1.payment_intents.retrieve_async(ghost.id)).status == "canceled"
    listed = await sdk.v1.payment_intents.list_async({"limit": 100})
    [mine] = [pi for pi in listed.data if pi.metadata.to_dict().get("order_id") == r.json()["id"]]
    assert mine.status == "requires_capture"  # the real order's hold is left alone

    # Minga thinks the hold is gone while Stripe still holds it: a person must look
    async with sm() as session:
        await session.execute(
            update(PaymentAuthorization)
            .where(PaymentAuthorization.external_ref == mine.id)
            .values(status="cancelled")
        )
        await session.commit()
    report = await reconcile(sm, settings, grace=timedelta(0))
    assert report.cancelled == []
    assert [line.split(":")[0] for line in report.mismatches] == [mine.id]
    # holds younger than the grace period are never taken for orphans
    assert (await reconcile(sm, settings)).checked == 0

"""Helpers of the payments tests: cards on localstripe, signed Stripe webhook events."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any

import httpx
import stripe
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.db import transaction

STRIPE_KEY = "sk_test_12345"
WEBHOOK_SECRET = "whsec_test"
GOOD_CARD = "4242424242424242"
# localstripe declines 4000000000000002 only when attaching it to a customer; 0341 attaches
# but its charges are declined (as at Stripe), so it is the one that fails a PaymentIntent.
DECLINED_CARD = "4000000000000341"


async def card(sdk: stripe.StripeClient, number: str = GOOD_CARD) -> str:
    """A card PaymentMethod created through the API, as Stripe.js would on the buyer's side."""
    method = await sdk.v1.payment_methods.create_async(
        {
            "type": "card",
            "card": {"number": number, "exp_month": 12, "exp_year": 2034, "cvc": "123"},
        }
    )
    return method.id


@dataclass
class Db:
    app: FastAPI

    def session(self) -> AbstractAsyncContextManager[AsyncSession]:
        """``async with db.session() as session``: one committed transaction."""
        return transaction(self.app.state.sessionmaker)


def sign(payload: str, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> str:
    """The ``Stripe-Signature`` header Stripe sends: HMAC-SHA256 of ``"{t}.{payload}"``."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


_event_counter = iter(range(1, 1_000_000))


def event(
    type: str, obj: dict[str, Any], *, id: str | None = None, created: int | None = None
) -> str:
    """A Stripe event body, as Stripe serialises it."""
    return json.dumps(
        {
            "id": id or f"evt_test_{next(_event_counter):06d}_{int(time.time() * 1000)}",
            "object": "event",
            "api_version": "2026-07-29.dahlia",
            "created": created or int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
            "data": {"object": obj},
        }
    )


WEBHOOK_URL = "/api/v1/payments/stripe/webhook"


async def post_event(
    client: httpx.AsyncClient, body: str, *, signature: str | None = None
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    headers["Stripe-Signature"] = sign(body) if signature is None else signature
    return await client.post(WEBHOOK_URL, content=body, headers=headers)


async def intents_of_order(sdk: stripe.StripeClient, order_id: str) -> list[stripe.PaymentIntent]:
    """The PaymentIntents whose metadata names the order (a raised hold has two)."""
    listed = await sdk.v1.payment_intents.list_async({"limit": 100})
    return [
        pi
        for pi in listed.data
        if pi.metadata and pi.metadata.to_dict().get("order_id") == order_id
    ]


async def intent_of_order(sdk: stripe.StripeClient, order_id: str) -> stripe.PaymentIntent:
    """The order's one PaymentIntent."""
    [intent] = await intents_of_order(sdk, order_id)
    return intent

"""What the live tests read back from localstripe, and how they judge a burst of answers."""

from __future__ import annotations

from typing import Any

import httpx
import stripe


def no_server_error(answers: list[httpx.Response]) -> None:
    failed = [(r.request.method, r.url.path, r.status_code, r.text) for r in answers]
    assert [f for f in failed if f[2] >= 500] == []


async def every(lister: Any) -> list[Any]:
    """Every object of a localstripe list (``sdk.v1.<things>.list_async``), page by page."""
    found: list[Any] = []
    params: dict[str, Any] = {"limit": 100}
    while True:
        page = await lister(params)
        found += page.data
        if not page.has_more or not page.data:
            return found
        params = {"limit": 100, "starting_after": page.data[-1].id}


async def intents(sdk: stripe.StripeClient) -> list[stripe.PaymentIntent]:
    return await every(sdk.v1.payment_intents.list_async)


def order_of(intent: stripe.PaymentIntent) -> str | None:
    """The Minga order a PaymentIntent was made for (its metadata says so)."""
    found = intent.metadata.to_dict().get("order_id") if intent.metadata else None
    return str(found) if found is not None else None


async def intents_of(sdk: stripe.StripeClient, order_id: str) -> list[stripe.PaymentIntent]:
    return [pi for pi in await intents(sdk) if order_of(pi) == order_id]


async def intent_of(sdk: stripe.StripeClient, order_id: str) -> stripe.PaymentIntent:
    [intent] = await intents_of(sdk, order_id)
    return intent

"""Changing a card order: the hold follows the new total, and Stripe is never called while
the order's (or, on SQLite, the database's) write lock is held.

A raise places a new hold with no transaction open, stores it with the new lines under the
order's lock, then releases the old hold; a lower total lowers the PaymentIntent after the
commit. A raise that cannot be stored (short stock) releases its new hold and leaves the old
one; a change that another change overtook starts again from what landed.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import stripe
from fastapi import FastAPI
from sqlmodel import col, select

from app.core.db import transaction
from app.orders.models import Order
from app.payments.stripe_provider import StripeProvider
from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.orders.conftest import Market, market  # noqa: F401
from tests.payments.conftest import localstripe, sdk, stripe_settings  # noqa: F401
from tests.payments.helpers import card, intent_of_order, intents_of_order
from tests.utils import assert_problem

pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
)


async def _card_order(m: Market, sdk: stripe.StripeClient, quantity: str) -> dict[str, Any]:  # noqa: F811
    r = await m.order(quantity, payment_method="card", payment_method_id=await card(sdk))
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


async def _patch(m: Market, order_id: str, quantity: str) -> Any:
    return await m.client.patch(
        f"/api/v1/orders/{order_id}",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": quantity}]},
        headers=m.buyer_staff,
    )


async def _nothing_locked(app: FastAPI, order_id: str) -> None:
    """Take the order's row for update at once: on PostgreSQL NOWAIT fails if a transaction
    holds it; on SQLite the write transaction cannot begin while another one is open."""
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(
            select(Order).where(col(Order.id) == order_id).with_for_update(nowait=True)
        )


async def test_a_raise_holds_anew_with_no_lock_held_then_releases_the_old_hold(
    market: Market,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
    app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = await _card_order(market, sdk, "10")
    old = await intent_of_order(sdk, order["id"])
    real = StripeProvider.replace_hold
    probed: list[str] = []

    async def probing(self: StripeProvider, ref: str | None, amount: int, **kw: Any) -> Any:
        await _nothing_locked(app, order["id"])
        probed.append(str(ref))
        return await real(self, ref, amount, **kw)

    monkeypatch.setattr(StripeProvider, "replace_hold", probing)
    r = await _patch(market, order["id"], "15")
    assert r.status_code == 200, r.text
    assert probed == [old.id]
    assert r.json()["total_cents"] == 6000
    assert r.json()["payment"]["amount_cents"] == 6000
    intents = {pi.id: pi for pi in await intents_of_order(sdk, order["id"])}
    assert intents[old.id].status == "canceled"
    [new] = [pi for pi in intents.values() if pi.id != old.id]
    assert (new.status, int(new.amount)) == ("requires_capture", 6000)
    availability = await market.availability()
    assert Decimal(availability["reserved"]) == 15


async def test_a_lower_total_lowers_the_hold_after_the_change_is_stored(
    market: Market,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
    app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order = await _card_order(market, sdk, "10")
    real = StripeProvider.update_amount
    seen: list[int] = []

    async def probing(self: StripeProvider, ref: str | None, amount: int, **kw: Any) -> Any:
        await _nothing_locked(app, order["id"])
        async with transaction(app.state.sessionmaker, write=False) as session:
            stored = await session.get(Order, order["id"])
            assert stored is not None
            seen.append(stored.total_cents)  # the change is already stored
        return await real(self, ref, amount, **kw)

    monkeypatch.setattr(StripeProvider, "update_amount", probing)
    r = await _patch(market, order["id"], "4")
    assert r.status_code == 200, r.text
    assert seen == [1600]
    assert r.json()["payment"]["amount_cents"] == 1600
    intent = await intent_of_order(sdk, order["id"])
    assert (intent.status, int(intent.amount)) == ("requires_capture", 1600)


async def test_a_raise_that_cannot_be_stored_releases_its_new_hold(
    market: Market,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
) -> None:
    order = await _card_order(market, sdk, "10")
    old = await intent_of_order(sdk, order["id"])
    r = await _patch(market, order["id"], "500")  # more than both offers hold
    assert_problem(r, 409, "insufficient_supply")
    intents = await intents_of_order(sdk, order["id"])
    assert {pi.id: pi.status for pi in intents if pi.id != old.id} == {
        pi.id: "canceled" for pi in intents if pi.id != old.id
    }
    assert len(intents) == 2  # the raise was held, then given back
    kept = await intent_of_order_by_id(sdk, old.id)
    assert (kept.status, int(kept.amount)) == ("requires_capture", 4000)
    got = await market.client.get(f"/api/v1/orders/{order['id']}", headers=market.buyer_staff)
    assert got.json()["payment"]["amount_cents"] == 4000
    assert got.json()["total_cents"] == 4000


async def intent_of_order_by_id(sdk: stripe.StripeClient, ref: str) -> stripe.PaymentIntent:  # noqa: F811
    return await sdk.v1.payment_intents.retrieve_async(ref)


async def test_a_change_overtaken_by_another_starts_again_from_what_landed(
    market: Market,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A competing change lands exactly between this change's new hold and its storing:
    this one's hold no longer replaces the stored one, so it is given back and the change
    runs again on top of what landed; one hold stays, for the final total."""
    order = await _card_order(market, sdk, "10")
    real = StripeProvider.replace_hold
    competed: list[int] = []

    async def overtaken(self: StripeProvider, ref: str | None, amount: int, **kw: Any) -> Any:
        held = await real(self, ref, amount, **kw)
        if not competed:
            competed.append(amount)
            other = await _patch(market, order["id"], "12")  # lands first
            assert other.status_code == 200, other.text
        return held

    monkeypatch.setattr(StripeProvider, "replace_hold", overtaken)
    r = await _patch(market, order["id"], "15")
    assert r.status_code == 200, r.text
    assert competed == [6000]
    assert r.json()["total_cents"] == 6000
    assert [Decimal(line["quantity"]) for line in r.json()["lines"]] == [15]
    held = [pi for pi in await intents_of_order(sdk, order["id"]) if pi.status != "canceled"]
    assert [(int(pi.amount), pi.status) for pi in held] == [(6000, "requires_capture")]
    assert r.json()["payment"]["amount_cents"] == 6000
    assert Decimal((await market.availability())["reserved"]) == 15

"""Card orders with the real Stripe SDK against localstripe: hold, cancel, decline, lower."""

from __future__ import annotations

import pytest
import stripe

from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.orders.conftest import Market, market  # noqa: F401
from tests.payments.conftest import localstripe, sdk, stripe_settings  # noqa: F401
from tests.payments.helpers import DECLINED_CARD, card, intent_of_order
from tests.utils import assert_problem

# stripe's httpx client sends its body as data=<str>; httpx warns, the request is right
pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
)


async def test_a_card_order_is_held_and_released_on_cancel(
    market: Market,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
) -> None:
    method = await card(sdk)
    r = await market.order("12", payment_method="card", payment_method_id=method)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["payment"] == {
        "method": "card",
        "status": "authorized",
        "amount_cents": 4800,
        "due_in_days": None,
    }
    intent = await intent_of_order(sdk, order["id"])
    assert int(intent.amount) == order["total_cents"] == 4800
    assert intent.status == "requires_capture"
    assert intent.capture_method == "manual"

    r = await market.client.post(f"/api/v1/orders/{order['id']}/cancel", headers=market.buyer_staff)
    assert r.status_code == 200
    assert r.json()["payment"]["status"] == "cancelled"
    assert (await intent_of_order(sdk, order["id"])).status == "canceled"


async def test_a_declined_card_is_402_and_reserves_nothing(
    market: Market,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
) -> None:
    declined = await card(sdk, DECLINED_CARD)
    r = await market.order("5", payment_method="card", payment_method_id=declined)
    assert_problem(r, 402, "payment_declined")
    assert (await market.availability())["reserved"] == "0.000"
    r = await market.order("5", payment_method="card")
    assert_problem(r, 422, "payment_method_required")


async def test_a_hold_that_cannot_be_reserved_is_released(
    market: Market,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
) -> None:
    method = await card(sdk)
    r = await market.order("80", payment_method="card", payment_method_id=method)
    assert_problem(r, 409, "insufficient_supply")
    listed = await sdk.v1.payment_intents.list_async({"limit": 100})
    held = [pi for pi in listed.data if pi.status == "requires_capture"]
    assert held == []


async def test_closing_lowers_holds_above_the_final_amount(
    market: Market,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
) -> None:
    r = await market.client.patch(
        f"/api/v1/cycles/{market.cycle['id']}/offers/{market.offers['first']['id']}",
        json={"quantity": "200"},
        headers=market.net.association_staff,
    )
    assert r.status_code == 200
    method = await card(sdk)
    early = (await market.order("10", payment_method="card", payment_method_id=method)).json()
    assert early["total_cents"] == 4000
    assert (await market.order("95")).status_code == 201  # the 100 tier is reached
    r = await market.client.post(
        f"/api/v1/cycles/{market.cycle['id']}/close", headers=market.net.admin
    )
    assert r.status_code == 200
    order = (
        await market.client.get(f"/api/v1/orders/{early['id']}", headers=market.buyer_staff)
    ).json()
    assert order["final_total_cents"] == 3600
    assert order["payment"]["amount_cents"] == 3600
    assert int((await intent_of_order(sdk, early["id"])).amount) == 3600

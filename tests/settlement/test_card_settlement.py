"""Settling card orders against localstripe: capture at the final amount, refund any excess;
payouts pay what associations really supplied after a shortfall and returns."""

from __future__ import annotations

import pytest
import stripe
from fastapi import FastAPI

from app.payments import service as payments
from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.fulfilment.conftest import floor  # noqa: F401
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import market  # noqa: F401
from tests.payments.conftest import localstripe, sdk, stripe_settings  # noqa: F401
from tests.payments.helpers import card, intent_of_order

pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
)


async def test_capture_at_the_final_amount_and_refund_the_excess(
    floor: Floor,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
    app: FastAPI,
) -> None:
    m = floor.m
    paid_by_card = (
        await m.order("10", payment_method="card", payment_method_id=await card(sdk))
    ).json()
    early_capture = (
        await m.order("5", payment_method="card", payment_method_id=await card(sdk))
    ).json()
    assert paid_by_card["payment"]["amount_cents"] == 4000
    await floor.close()
    await floor.receive_all()
    [*shipments] = await floor.build()
    # both orders were captured in full already (say by hand at dispatch): settling must
    # give back what the buyer finally does not pay
    for order, amount in ((early_capture, 2000), (paid_by_card, 4000)):
        await payments.capture_for_order(
            app.state.sessionmaker, app.state.settings, order["id"], amount
        )
    by_buyer = {s["buyer_id"]: s for s in shipments}
    [shipment] = by_buyer.values()
    r = await m.client.post(
        f"/api/v1/shipments/{shipment['id']}/deliver",
        json={
            "received_by": "Miche, cocina",
            "returns": [{"sku_id": m.sku["id"], "quantity": "2", "reason": "rotura"}],
        },
        headers=floor.staff,
    )
    assert r.status_code == 200, r.text

    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text
    result = r.json()
    # 15 ordered, 2 returned on delivery: the buyer pays 13 x 400
    assert result["invoiced_cents"] == 13 * 400
    assert result["captured_cents"] == 15 * 400
    assert result["refunded_cents"] == 2 * 400
    invoices = (
        await m.client.get(
            "/api/v1/invoices", params={"cycle_id": m.cycle["id"]}, headers=m.buyer_staff
        )
    ).json()["items"]
    totals = {i["order_id"]: i["total_cents"] for i in invoices}
    for order in (paid_by_card, early_capture):
        intent = await intent_of_order(sdk, order["id"])
        assert intent.status == "succeeded"
        # localstripe cannot filter charges by intent: filter here
        charges = await sdk.v1.charges.list_async({"limit": 100})
        [charge] = [c for c in charges.data if c.payment_intent == intent.id]
        kept = int(charge.amount) - int(charge.amount_refunded)
        assert kept == totals[order["id"]]
    # associations are paid the producer share of what the buyer is billed for: the 2
    # returned at the door are neither billed nor paid (one rule on both sides)
    payouts = (
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/payouts", headers=m.net.admin)
    ).json()
    assert sum(p["amount_cents"] for p in payouts) == 13 * 250


async def test_a_credit_note_on_a_card_order_is_refunded_at_the_provider(
    floor: Floor,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
) -> None:
    m = floor.m
    order = (await m.order("10", payment_method="card", payment_method_id=await card(sdk))).json()
    await floor.through_delivery()
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text
    assert r.json()["captured_cents"] == 10 * 400
    [invoice] = (
        await m.client.get(
            "/api/v1/invoices", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
        )
    ).json()["items"]
    r = await m.client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": "2", "reason": "queso con moho"}]},
        headers=m.net.admin,
    )
    assert r.status_code == 201, r.text
    note = r.json()
    assert (note["total_cents"], note["refund_status"]) == (2 * 400, "refunded")
    intent = await intent_of_order(sdk, order["id"])
    charges = await sdk.v1.charges.list_async({"limit": 100})
    [charge] = [c for c in charges.data if c.payment_intent == intent.id]
    assert int(charge.amount) - int(charge.amount_refunded) == 8 * 400
    ledger = (
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/ledger", headers=m.net.admin)
    ).json()
    assert ledger["differences"] == []
    # a second note refunds only its own amount
    r = await m.client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": "1", "reason": "queso con moho"}]},
        headers=m.net.admin,
    )
    assert r.status_code == 201, r.text
    charges = await sdk.v1.charges.list_async({"limit": 100})
    [charge] = [c for c in charges.data if c.payment_intent == intent.id]
    assert int(charge.amount) - int(charge.amount_refunded) == 7 * 400


async def test_a_card_order_above_its_hold_with_tax_is_invoiced_on_terms(
    floor: Floor,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
) -> None:
    """The hold is of the order's total before tax: when the network taxes the category,
    the taxed total cannot be captured, so the order is invoiced on terms (with its tax),
    its hold is given back, and the ledger still adds up."""
    m = floor.m
    order = (await m.order("10", payment_method="card", payment_method_id=await card(sdk))).json()
    assert order["payment"]["amount_cents"] == 4000
    r = await m.client.put(
        f"/api/v1/networks/{m.net.network['id']}/tax-rates",
        json={"category": "dairy", "rate_bps": 1500},
        headers=m.net.admin,
    )
    assert r.status_code == 200, r.text
    await floor.through_delivery()
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text
    result = r.json()
    assert [p["order_id"] for p in result["payment_needed"]] == [order["id"]]
    assert result["payment_needed"][0]["reason"].startswith("capture_exceeds_authorization")
    assert result["captured_cents"] == 0
    [invoice] = (
        await m.client.get(
            "/api/v1/invoices", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
        )
    ).json()["items"]
    assert invoice["payment_method"] == "invoice"
    assert (invoice["subtotal_cents"], invoice["tax_cents"]) == (4000, 600)
    assert invoice["total_cents"] == 4600
    intent = await intent_of_order(sdk, order["id"])
    assert intent.status == "canceled"
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/ledger", headers=m.net.admin)
    assert r.json()["differences"] == [], r.json()

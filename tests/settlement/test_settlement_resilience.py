"""Settlement is not a wall: a card that can no longer be charged does not stop the cycle
from settling, and a settlement stopped half-way is finished by the next start, with each
card captured once. (A signed ``payment_intent.canceled`` used to make every later
``POST /cycles/{id}/settle`` answer 409 ``payment_not_changeable``, after some buyers had
already been charged: no invoices, no payouts, no way out.)"""

from __future__ import annotations

from typing import Any

import pytest
import stripe
from fastapi import FastAPI

from app.core.locks import exclusive
from app.core.timeutil import utcnow
from app.flows import settlement as settlement_flow
from app.orders.scheduler import tick
from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.fulfilment.conftest import floor  # noqa: F401
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import market  # noqa: F401
from tests.payments.conftest import localstripe, sdk, stripe_settings  # noqa: F401
from tests.payments.helpers import card, event, intent_of_order, post_event
from tests.utils import assert_problem

pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
)


async def _card_orders(floor: Floor, sdk: stripe.StripeClient, *quantities: str) -> list[Any]:  # noqa: F811
    m = floor.m
    orders = []
    for n, quantity in enumerate(quantities):
        buyer, staff = await floor.buyer(f"Restaurante con tarjeta {n}")
        r = await m.order(
            quantity,
            buyer_id=buyer["id"],
            headers=staff,
            payment_method="card",
            payment_method_id=await card(sdk),
        )
        assert r.status_code == 201, r.text
        orders.append(r.json())
    return orders


async def test_a_cancelled_hold_does_not_stop_the_cycle_from_settling(
    floor: Floor,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
) -> None:
    m = floor.m
    kept, dropped = await _card_orders(floor, sdk, "6", "4")
    await floor.through_delivery()
    # Stripe cancels a hold left seven days by itself, and says so
    intent = await intent_of_order(sdk, dropped["id"])
    await sdk.v1.payment_intents.cancel_async(intent.id)
    body = event("payment_intent.canceled", {**intent.to_dict(), "status": "canceled"})
    assert (await post_event(m.client, body)).status_code == 200

    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["status"] == "settled"
    assert [p["order_id"] for p in result["payment_needed"]] == [dropped["id"]]
    assert result["payment_needed"][0]["reason"]
    assert result["captured_cents"] == 6 * 400
    assert result["ledger"]["differences"] == []
    assert (await intent_of_order(sdk, kept["id"])).status == "succeeded"
    invoices = {
        i["order_id"]: i
        for i in (
            await m.client.get(
                "/api/v1/invoices", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
            )
        ).json()["items"]
    }
    # the buyer got the goods: invoiced on terms, and the associations are paid
    assert invoices[dropped["id"]]["payment_method"] == "invoice"
    assert invoices[dropped["id"]]["due_on"] > m.cycle["delivery_date"]
    assert invoices[kept["id"]]["payment_method"] == "card"
    assert result["paid_out_cents"] == 10 * 250
    events = (
        await m.client.get(f"/api/v1/orders/{dropped['id']}/events", headers=m.net.admin)
    ).json()
    assert "order.payment_needed" in [e["type"] for e in events]


async def test_a_settlement_stopped_half_way_is_finished_by_the_next_start(
    floor: Floor,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
    app: FastAPI,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    m = floor.m
    first, second = await _card_orders(floor, sdk, "6", "4")
    await floor.through_delivery()
    real = settlement_flow.payments.capture_for_order
    calls: list[str] = []

    async def dies_after_the_first(session: Any, settings: Any, order_id: str, amount: int) -> Any:
        calls.append(order_id)
        if len(calls) == 2:
            raise RuntimeError("kill -9")  # the process dies between two captures
        return await real(session, settings, order_id, amount)

    monkeypatch.setattr(settlement_flow.payments, "capture_for_order", dies_after_the_first)
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 500
    cycle = (await m.client.get(f"/api/v1/cycles/{m.cycle['id']}", headers=m.net.admin)).json()
    assert cycle["status"] == "settling"  # recorded as begun: not left for a person to notice
    monkeypatch.setattr(settlement_flow.payments, "capture_for_order", real)

    # the next start (or the scheduler's next tick) finishes it, without a person
    await tick(app.state.sessionmaker, app.state.settings, utcnow())
    cycle = (await m.client.get(f"/api/v1/cycles/{m.cycle['id']}", headers=m.net.admin)).json()
    assert cycle["status"] == "settled"
    assert (
        await settlement_flow.resume_settlements(app.state.sessionmaker, app.state.settings) == []
    )
    charges = (await sdk.v1.charges.list_async({"limit": 100})).data
    for order, quantity in ((first, 6), (second, 4)):
        intent = await intent_of_order(sdk, order["id"])
        assert intent.status == "succeeded"
        mine = [c for c in charges if c.payment_intent == intent.id]
        assert len(mine) == 1  # captured once
        assert int(mine[0].amount) - int(mine[0].amount_refunded) == quantity * 400
    ledger = (
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/ledger", headers=m.net.admin)
    ).json()
    assert ledger["differences"] == []
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200  # settling again changes nothing
    assert r.json()["invoices"] == 2


async def test_one_settlement_of_a_cycle_runs_at_a_time(
    floor: Floor,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
    app: FastAPI,
) -> None:
    """While a worker settles a cycle (here: the test holds its lock), a second settlement
    answers 409 with Retry-After and a resume leaves the cycle alone; once it is free, the
    settlement runs."""
    m = floor.m
    await _card_orders(floor, sdk, "6")
    await floor.through_delivery()
    engine = app.state.sessionmaker.kw["bind"]
    path = f"/api/v1/cycles/{m.cycle['id']}/settle"
    async with exclusive(engine, f"settle:{m.cycle['id']}") as mine:
        assert mine
        r = await m.client.post(path, headers=m.net.admin)
        assert_problem(r, 409, "settlement_in_progress")
        assert int(r.headers["Retry-After"]) >= 1
        assert (
            await settlement_flow.resume_settlements(app.state.sessionmaker, app.state.settings)
            == []
        )
    r = await m.client.post(path, headers=m.net.admin)
    assert r.status_code == 200, r.text
    assert r.json()["invoices"] == 1

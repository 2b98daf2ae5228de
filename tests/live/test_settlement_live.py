"""Issue 11, findings 3 and 4, against ``minga serve --workers 2`` on PostgreSQL, with
localstripe behind a proxy that can hold Stripe's answers.

3. A signed ``payment_intent.canceled`` made ``POST /cycles/{id}/settle`` answer 409 forever,
   after some buyers had been charged.
4. kill -9 during settlement left it half done until someone ran it again; kill -9 during a
   burst of card orders left a Stripe hold with no order.

The kills are real: SIGKILL to the server's process group (the uvicorn master and both
workers) at a moment the proxy makes exact, a Stripe call that has done its work at
localstripe but whose answer the server has not had yet.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.brands.conftest import build_network
from tests.fulfilment.helpers import Floor
from tests.live import needs_postgresql
from tests.live.conftest import Live
from tests.live.helpers import every, intent_of, intents, order_of
from tests.live.server import WORKERS
from tests.live.stripe_proxy import CAPTURE, CREATE_INTENT
from tests.orders.conftest import Market, build_market
from tests.payments.helpers import card, event, post_event
from tests.settlement.test_settlement_resilience import _card_orders

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    needs_postgresql,
    # stripe's httpx client sends its body as data=<str>; httpx warns, the request is right
    pytest.mark.filterwarnings(
        "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
    ),
]

UNIT_PRICE, PRODUCER_PRICE = 400, 250  # the market's SKU below its first tier
BURST = 16  # card orders in the burst the server is killed in


async def _floor(live: Live) -> Floor:
    return await Floor.start(await build_market(await build_network(live.api)))


async def _cycle(m: Market) -> dict[str, Any]:
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}", headers=m.net.admin)
    assert r.status_code == 200, r.text
    cycle: dict[str, Any] = r.json()
    return cycle


async def _invoices(m: Market) -> dict[str, dict[str, Any]]:
    r = await m.client.get(
        "/api/v1/invoices", params={"cycle_id": m.cycle["id"], "limit": 200}, headers=m.net.admin
    )
    assert r.status_code == 200, r.text
    return {i["order_id"]: i for i in r.json()["items"]}


async def _payouts(m: Market) -> int:
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/payouts", headers=m.net.admin)
    assert r.status_code == 200, r.text
    return sum(int(p["amount_cents"]) for p in r.json())


async def _no_ledger_difference(m: Market) -> None:
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/ledger", headers=m.net.admin)
    assert r.status_code == 200, r.text
    assert r.json()["differences"] == []


async def test_a_cancelled_hold_does_not_stop_the_cycle_from_settling(live: Live) -> None:
    floor = await _floor(live)
    m = floor.m
    kept, dropped, other = await _card_orders(floor, live.sdk, "6", "4", "5")
    await floor.through_delivery()
    # Stripe cancels a hold left seven days by itself, and says so, signed
    intent = await intent_of(live.sdk, dropped["id"])
    await live.sdk.v1.payment_intents.cancel_async(intent.id)
    body = event("payment_intent.canceled", {**intent.to_dict(), "status": "canceled"})
    r = await post_event(m.client, body)
    assert r.status_code == 200, r.text

    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["status"] == "settled"
    assert [p["order_id"] for p in result["payment_needed"]] == [dropped["id"]]
    assert result["payment_needed"][0]["reason"]
    assert result["captured_cents"] == (6 + 5) * UNIT_PRICE
    assert result["ledger"]["differences"] == []
    assert result["invoices"] == 3
    assert result["paid_out_cents"] == (6 + 4 + 5) * PRODUCER_PRICE
    for order in (kept, other):
        assert (await intent_of(live.sdk, order["id"])).status == "succeeded"
    invoices = await _invoices(m)
    # the buyer got the goods: invoiced on terms, and the associations are paid
    assert invoices[dropped["id"]]["payment_method"] == "invoice"
    assert invoices[kept["id"]]["payment_method"] == "card"
    assert await _payouts(m) == (6 + 4 + 5) * PRODUCER_PRICE
    events = (
        await m.client.get(f"/api/v1/orders/{dropped['id']}/events", headers=m.net.admin)
    ).json()
    assert "order.payment_needed" in [e["type"] for e in events]
    await _no_ledger_difference(m)


async def _settled_without_a_person(m: Market, within: float = 60) -> dict[str, Any]:
    """Poll the cycle (reading only) until it is settled."""
    deadline = time.monotonic() + within
    while True:
        cycle = await _cycle(m)
        if cycle["status"] == "settled" or time.monotonic() > deadline:
            return cycle
        await asyncio.sleep(0.2)


async def test_a_settlement_killed_half_way_is_finished_by_the_next_start(live: Live) -> None:
    floor = await _floor(live)
    m = floor.m
    quantities = (6, 4, 5)
    orders = await _card_orders(floor, live.sdk, *(str(q) for q in quantities))
    await floor.through_delivery()

    # the second capture reaches localstripe and is done there, and then its answer (and
    # that of any capture after it) is held: the server is killed waiting for it
    hold = live.proxy.hold("POST", CAPTURE, nth=2)
    settling = asyncio.create_task(
        m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    )
    assert await hold.wait_reached(), "settlement never got to its second capture"
    assert (await _cycle(m))["status"] == "settling"  # in the middle, by the server's word
    assert len(live.server.kill()) > WORKERS  # the master and both workers, at once
    with pytest.raises(httpx.TransportError):
        await settling
    live.proxy.release_all()  # its answer goes to a dead socket: charged, unknown to Minga
    assert [c.held for c in live.proxy.answered("POST", CAPTURE)][:2] == [False, True]

    await asyncio.to_thread(live.server.start)  # the same database, nobody asks anything
    cycle = await _settled_without_a_person(m)
    assert cycle["status"] == "settled", cycle

    captured = Counter(c.path for c in live.proxy.answered("POST", CAPTURE))
    charges = await every(live.sdk.v1.charges.list_async)
    for order, quantity in zip(orders, quantities, strict=True):
        intent = await intent_of(live.sdk, order["id"])
        assert intent.status == "succeeded", intent
        assert captured[f"/v1/payment_intents/{intent.id}/capture"] == 1, captured
        [charge] = [c for c in charges if c.payment_intent == intent.id]
        assert int(charge.amount) - int(charge.amount_refunded) == quantity * UNIT_PRICE
    await _no_ledger_difference(m)
    invoices = await _invoices(m)
    assert set(invoices) == {o["id"] for o in orders}
    assert {i["payment_method"] for i in invoices.values()} == {"card"}
    assert await _payouts(m) == sum(quantities) * PRODUCER_PRICE
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text  # settling again changes nothing
    assert r.json()["invoices"] == len(orders)
    assert r.json()["captured_cents"] == sum(quantities) * UNIT_PRICE


async def test_a_burst_of_card_orders_killed_leaves_no_hold_without_an_order(live: Live) -> None:
    m = await build_market(await build_network(live.api))
    before = {pi.id for pi in await intents(live.sdk)}
    methods = [await card(live.sdk) for _ in range(BURST + 3)]

    async def place(n: int, after: float = 0) -> httpx.Response:
        await asyncio.sleep(after)
        headers = {**m.buyer_staff, "Idempotency-Key": f"rafaga-{n}"}
        return await m.order(
            "2", headers=headers, payment_method="card", payment_method_id=methods[n]
        )

    # three orders placed before the burst, for sure; then one every 40 ms
    steady = [await place(n) for n in range(3)]
    assert [r.status_code for r in steady] == [201, 201, 201], [r.text for r in steady]
    # from the burst's sixth hold on, holds are placed at localstripe but the server never
    # hears back; it is killed while those requests (and any behind them) are in flight
    hold = live.proxy.hold("POST", CREATE_INTENT, nth=6)
    burst = [asyncio.create_task(place(n, 0.04 * (n - 3))) for n in range(3, BURST + 3)]
    assert await hold.wait_reached(), "the burst never got to its sixth hold"
    assert len(live.server.kill()) > WORKERS
    answers = [*steady, *await asyncio.gather(*burst, return_exceptions=True)]
    live.proxy.release_all()
    for answer in answers:
        if isinstance(answer, httpx.Response):
            assert answer.status_code == 201, answer.text
        else:  # killed in flight
            assert isinstance(answer, httpx.TransportError), repr(answer)
    placed = [a.json()["id"] for a in answers if isinstance(a, httpx.Response)]

    await asyncio.to_thread(live.server.start)
    done = await asyncio.to_thread(live.server.cli, "payments", "reconcile", "--grace-minutes", "0")
    assert done.returncode == 0, done.stdout + done.stderr

    r = await m.client.get(
        "/api/v1/orders", params={"cycle_id": m.cycle["id"], "limit": 200}, headers=m.net.admin
    )
    assert r.status_code == 200, r.text
    orders = {o["id"]: o for o in r.json()["items"]}
    assert set(placed) <= set(orders)  # every 201 the clients got is an order
    made = [pi for pi in await intents(live.sdk) if pi.id not in before]
    orphans = [pi for pi in made if order_of(pi) not in orders]
    assert orphans, "the held hold had no order: the reconciliation should have found it"
    # every hold still open belongs to an order; every orphan was released
    assert {pi.status for pi in orphans} == {"canceled"}, [(pi.id, pi.status) for pi in orphans]
    for orphan in orphans:  # released by the reconciliation, which says so
        assert f"released {orphan.id}" in done.stdout, done.stdout
    for order_id, order in orders.items():
        assert order["payment"]["status"] == "authorized", order
        held = [pi for pi in made if order_of(pi) == order_id]
        assert [(pi.status, int(pi.amount)) for pi in held] == [
            ("requires_capture", order["total_cents"])
        ]
    reserved = sum((Decimal(o["lines"][0]["quantity"]) for o in orders.values()), Decimal(0))
    assert Decimal((await m.availability())["reserved"]) == reserved

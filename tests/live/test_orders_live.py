"""Issue 11, findings 1 and 2, against ``minga serve --workers 2`` on PostgreSQL.

1. Concurrent cancels and PATCHes of one order used to give 500s, leave the reserved counter
   below the ordered units (then oversell, then a close that failed forever).
2. 100 concurrent identical keyed ``POST /orders`` made several orders; 50 card orders made
   18 orders and 18 Stripe holds.

The requests are truly concurrent: ``asyncio.gather`` over one client opens a connection
per request in flight, and the two workers accept them from one socket.
"""

from __future__ import annotations

import asyncio
import random
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.brands.conftest import build_network
from tests.live import needs_postgresql
from tests.live.conftest import Live
from tests.live.helpers import intents_of, no_server_error
from tests.live.stripe_proxy import CREATE_INTENT
from tests.orders.conftest import Market, build_market
from tests.orders.test_order_races import _cancel as cancel
from tests.orders.test_order_races import _patch, _reserved_matches_lines
from tests.payments.helpers import card

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    needs_postgresql,
    # stripe's httpx client sends its body as data=<str>; httpx warns, the request is right
    pytest.mark.filterwarnings(
        "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
    ),
]


async def _market(live: Live) -> Market:
    return await build_market(await build_network(live.api))


async def _orders_of(m: Market, **filters: str) -> list[dict[str, Any]]:
    r = await m.client.get(
        "/api/v1/orders",
        params={"cycle_id": m.cycle["id"], "limit": 200, **filters},
        headers=m.net.admin,
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


# the documented 409s of a change or a cancel: the order is no longer placed, or other
# changes kept landing while this one was being made (then with Retry-After)
CONFLICTS = frozenset({"order_not_changeable", "order_changed_meanwhile"})


def _changed_or_refused(answers: list[httpx.Response]) -> None:
    """Each answer is a 200 or one of the documented 409s."""
    no_server_error(answers)
    for r in answers:
        assert r.status_code in (200, 409), r.text
        if r.status_code != 409:
            continue
        code = r.json()["code"]
        assert code in CONFLICTS, r.text
        if code == "order_changed_meanwhile":
            assert int(r.headers["Retry-After"]) >= 1


async def _cancel(m: Market, order_id: str, *, after: float = 0) -> httpx.Response:
    await asyncio.sleep(after)
    r: httpx.Response = await cancel(m, order_id)
    return r


async def test_concurrent_cancels_and_changes_of_one_order_keep_the_stock_exact(
    live: Live,
) -> None:
    m = await _market(live)
    kept = (await m.order("4")).json()  # another buyer's order, untouched throughout
    rng = random.Random(11)

    # ten cancels alone (the finding's 5x200 + 5x500)
    order = (await m.order("7")).json()
    answers = await asyncio.gather(*(_cancel(m, order["id"]) for _ in range(10)))
    no_server_error(answers)
    assert {r.status_code for r in answers} == {200}, [r.text for r in answers]
    assert {r.json()["status"] for r in answers} == {"cancelled"}
    assert await _reserved_matches_lines(m) == 4

    # ten PATCHes alone (the finding's unique violation on the order's lines)
    order = (await m.order("5")).json()
    wanted = [str(rng.randint(1, 12)) for _ in range(10)]
    answers = await asyncio.gather(*(_patch(m, order["id"], q) for q in wanted))
    _changed_or_refused(answers)
    changed = {Decimal(r.json()["lines"][0]["quantity"]) for r in answers if r.status_code == 200}
    assert changed, [r.text for r in answers]
    final = (await m.client.get(f"/api/v1/orders/{order['id']}", headers=m.buyer_staff)).json()
    assert final["status"] == "placed"
    assert Decimal(final["lines"][0]["quantity"]) in changed  # the last change that landed
    assert await _reserved_matches_lines(m) == 4 + Decimal(final["lines"][0]["quantity"])

    # rounds of ten cancels and ten PATCHes of one order, shuffled; a PATCH takes longer than
    # a cancel, so in later rounds the cancels leave a little later, into the PATCHes' work
    for cancels_after in (0, 0.02, 0.05, 0.1):
        order = (await m.order("5")).json()
        calls = [_cancel(m, order["id"], after=cancels_after) for _ in range(10)] + [
            _patch(m, order["id"], str(rng.randint(1, 12))) for _ in range(10)
        ]
        rng.shuffle(calls)
        answers = await asyncio.gather(*calls)
        status = (
            await m.client.get(f"/api/v1/orders/{order['id']}", headers=m.buyer_staff)
        ).json()["status"]
        assert status == "cancelled"  # ten cancels, each answered 200 (below): it is final
        _changed_or_refused(answers)
        cancels = [r for r in answers if r.request.method == "POST"]
        assert {r.status_code for r in cancels} == {200}, [r.text for r in cancels]
        await _reserved_matches_lines(m)  # availability = the placed orders' lines; ledger

    reserved = await _reserved_matches_lines(m)
    placed = await _orders_of(m, status="placed")
    assert kept["id"] in {o["id"] for o in placed}
    assert reserved == sum(Decimal(o["lines"][0]["quantity"]) for o in placed)
    # the counter is exact, so the offer cannot be oversold: one unit more than is left is
    # refused, exactly what is left is taken
    left = Decimal((await m.availability())["available"])
    assert left > 0
    r = await m.order(str(left + 1))
    assert r.status_code == 409, r.text
    assert r.json()["code"] == "insufficient_supply", r.text
    r = await m.order(str(left))
    assert r.status_code == 201, r.text
    availability = await m.availability()
    assert Decimal(availability["reserved"]) == Decimal(availability["offered"])
    await _reserved_matches_lines(m)
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/close", headers=m.net.admin)
    assert r.status_code == 200, r.text
    ledger = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/ledger", headers=m.net.admin)
    assert ledger.status_code == 200, ledger.text
    assert ledger.json()["differences"] == []


def _one_order(answers: list[httpx.Response], order: dict[str, Any]) -> list[httpx.Response]:
    """Every answer is a 201 with that one order, or 409 ``idempotency_key_in_use`` with
    Retry-After (a duplicate that waited for the first answer and did not get it in time).
    The 201s."""
    no_server_error(answers)
    created = [r for r in answers if r.status_code == 201]
    for r in answers:
        if r.status_code != 201:
            assert r.status_code == 409, r.text
            assert r.json()["code"] == "idempotency_key_in_use", r.text
            assert int(r.headers["Retry-After"]) >= 1
    assert created, "no request of the burst got the order"
    assert {r.json()["id"] for r in created} == {order["id"]}
    return created


async def test_a_hundred_identical_keyed_orders_make_one(live: Live) -> None:
    m = await _market(live)
    headers = {**m.buyer_staff, "Idempotency-Key": "cien-veces"}
    answers = await asyncio.gather(*(m.order("3", headers=headers) for _ in range(100)))
    [order] = await _orders_of(m)
    created = _one_order(answers, order)
    assert (await m.availability())["reserved"] == "3.000"

    again = await m.order("3", headers=headers)
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == created[0].json()
    assert len(await _orders_of(m)) == 1


async def test_fifty_identical_keyed_card_orders_make_one_hold(live: Live) -> None:
    m = await _market(live)
    method = await card(live.sdk)
    headers = {**m.buyer_staff, "Idempotency-Key": "tarjeta-cincuenta"}
    answers = await asyncio.gather(
        *(
            m.order("2", headers=headers, payment_method="card", payment_method_id=method)
            for _ in range(50)
        )
    )
    [order] = await _orders_of(m)
    _one_order(answers, order)
    assert order["payment"]["status"] == "authorized"
    # localstripe keeps no idempotency keys: every hold Minga asked for would be there
    assert len(live.proxy.answered("POST", CREATE_INTENT)) == 1
    assert [(pi.status, int(pi.amount)) for pi in await intents_of(live.sdk, order["id"])] == [
        ("requires_capture", order["total_cents"])
    ]

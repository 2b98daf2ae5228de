"""An ``Idempotency-Key`` holds under concurrency: the key is claimed before the work, so
duplicates in flight never make a second order nor a second card hold. (A hostile probe had
100 concurrent identical keyed POSTs make 2 to 12 orders, and 50 card orders 18 holds.)"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import stripe

from app.core import idempotency
from app.flows import ordering
from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.orders.conftest import Market, market  # noqa: F401
from tests.orders.test_close_race import STEP, on_postgresql
from tests.payments.conftest import localstripe, sdk, stripe_settings  # noqa: F401
from tests.payments.helpers import card
from tests.utils import assert_problem

pytestmark = pytest.mark.filterwarnings(
    "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
)


async def _orders_of(m: Market) -> list[dict[str, Any]]:
    r = await m.client.get(
        "/api/v1/orders", params={"cycle_id": m.cycle["id"], "limit": 200}, headers=m.net.admin
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_a_duplicate_in_flight_waits_then_is_told_to_retry(
    market: Market,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Deterministic: the first request (a card order: its key is claimed before the card is
    held, no transaction open) is paused at the card hold; its duplicate gets 409
    ``idempotency_key_in_use`` with Retry-After once its short wait is over, and after the
    first finishes, a retry replays the first answer."""
    m = market
    method = await card(sdk)
    reached, release = asyncio.Event(), asyncio.Event()
    real_hold = ordering.payments.hold

    async def paused_hold(*args: Any, **kwargs: Any) -> Any:
        reached.set()
        await asyncio.wait_for(release.wait(), STEP)
        return await real_hold(*args, **kwargs)

    monkeypatch.setattr(ordering.payments, "hold", paused_hold)
    monkeypatch.setattr(idempotency, "WAIT_FOR_ANSWER_SECONDS", 0.3)
    headers = {**m.buyer_staff, "Idempotency-Key": "pedido-sabado-1"}
    by_card = {"payment_method": "card", "payment_method_id": method}
    first = asyncio.create_task(m.order("5", headers=headers, **by_card))
    try:
        await asyncio.wait_for(reached.wait(), STEP)
        duplicate = await m.order("5", headers=headers, **by_card)
        body = assert_problem(duplicate, 409, "idempotency_key_in_use")
        assert body["title"]
        assert duplicate.headers["Retry-After"] == "1"
        other_body = await m.order("6", headers=headers, **by_card)
        assert_problem(other_body, 422, "idempotency_key_reused")
        on_terms = await m.order("5", headers=headers)  # another body: invoice
        assert_problem(on_terms, 422, "idempotency_key_reused")
    finally:
        release.set()
    placed = await asyncio.wait_for(first, STEP)
    assert placed.status_code == 201, placed.text
    again = await m.order("5", headers=headers, **by_card)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == placed.json()["id"]
    assert [o["id"] for o in await _orders_of(m)] == [placed.json()["id"]]


async def test_a_failed_request_gives_its_key_back(market: Market) -> None:  # noqa: F811
    m = market
    headers = {**m.buyer_staff, "Idempotency-Key": "pedido-grande"}
    r = await m.order("5000", headers=headers)
    assert_problem(r, 409, "insufficient_supply")
    r = await m.order("5000", headers=headers)  # retried: runs again, not a stored error
    assert_problem(r, 409, "insufficient_supply")
    assert await _orders_of(m) == []


@pytest.mark.postgres
@on_postgresql
async def test_a_hundred_identical_keyed_orders_make_one(market: Market) -> None:  # noqa: F811
    m = market
    headers = {**m.buyer_staff, "Idempotency-Key": "cien-veces"}
    answers = await asyncio.gather(*(m.order("3", headers=headers) for _ in range(100)))
    codes = {r.status_code for r in answers}
    assert codes <= {201, 409}, [r.text for r in answers if r.status_code not in (201, 409)]
    for r in answers:
        if r.status_code == 409:
            assert r.json()["code"] == "idempotency_key_in_use"
    orders = await _orders_of(m)
    assert len(orders) == 1
    assert {r.json()["id"] for r in answers if r.status_code == 201} == {orders[0]["id"]}
    assert (await m.availability())["reserved"] == "3.000"


@pytest.mark.postgres
@on_postgresql
async def test_fifty_identical_keyed_card_orders_make_one_hold(
    market: Market,  # noqa: F811
    sdk: stripe.StripeClient,  # noqa: F811
) -> None:
    m = market
    method = await card(sdk)
    before = len((await sdk.v1.payment_intents.list_async({"limit": 100})).data)
    headers = {**m.buyer_staff, "Idempotency-Key": "tarjeta-cincuenta"}
    answers = await asyncio.gather(
        *(
            m.order("2", headers=headers, payment_method="card", payment_method_id=method)
            for _ in range(50)
        )
    )
    assert {r.status_code for r in answers} <= {201, 409}
    orders = await _orders_of(m)
    assert len(orders) == 1
    intents = (await sdk.v1.payment_intents.list_async({"limit": 100})).data
    assert len(intents) - before == 1


@pytest.mark.postgres
@on_postgresql
async def test_an_invoice_duplicate_in_flight_waits_for_the_first_and_replays_it(
    market: Market,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An invoice order claims its key with its last statement, in its own transaction: the
    first request is paused after that statement, before its commit; its duplicate waits
    (on the stock row the first holds), then finds the key taken, rolls its work back and
    answers the first's order."""
    m = market
    reached, release = asyncio.Event(), asyncio.Event()
    real_store_first = idempotency.store_first
    calls = 0

    async def paused_store_first(*args: Any, **kwargs: Any) -> bool:
        nonlocal calls
        calls += 1
        stored = await real_store_first(*args, **kwargs)
        if calls == 1:
            reached.set()
            await asyncio.wait_for(release.wait(), STEP)
        return stored

    monkeypatch.setattr(idempotency, "store_first", paused_store_first)
    headers = {**m.buyer_staff, "Idempotency-Key": "factura-doble"}
    first = asyncio.create_task(m.order("3", headers=headers))
    try:
        await asyncio.wait_for(reached.wait(), STEP)
        duplicate = asyncio.create_task(m.order("3", headers=headers))
        done, _ = await asyncio.wait({duplicate}, timeout=0.5)
        assert not done, "the duplicate went past the first's uncommitted order"
    finally:
        release.set()
    placed, again = await asyncio.wait_for(asyncio.gather(first, duplicate), STEP)
    assert placed.status_code == 201, placed.text
    assert again.status_code == 201, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == placed.json()["id"]
    assert [o["id"] for o in await _orders_of(m)] == [placed.json()["id"]]
    assert (await m.availability())["reserved"] == "3.000"

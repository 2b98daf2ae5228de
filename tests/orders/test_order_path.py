"""Placing an invoice order keeps the floor's shape: the statements a placement sends are
pinned here, so that an N+1, a read-back or a lookup cannot come back unnoticed; and the
Idempotency-Key claim that stores the answer keeps every guarantee of the claim."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event, update
from sqlalchemy import select as sa_select

from app.core.idempotency import IdempotencyKey
from app.core.timeutil import utcnow
from app.orders.models import OrderEvent
from app.payments.models import PaymentAuthorization
from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.orders.conftest import Market, market  # noqa: F401
from tests.utils import assert_problem

AUTH_TABLES = {"users", "memberships", "api_keys", "organizations", "countries"}


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """Every SQL statement the app's engine sends meanwhile, transaction control left out."""
    sent: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        head = statement.strip().split(None, 1)[0].upper()
        if head not in {"BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA"}:
            sent.append(" ".join(statement.split()))

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", seen)


def shape(statement: str) -> str:
    """``SELECT order_cycles``, ``UPDATE cycle_skus``, ``INSERT order_lines``: the verb and
    the first table named."""
    verb = statement.split(None, 1)[0].upper()
    table = re.search(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", statement, re.IGNORECASE)
    return f"{verb} {table.group(1) if table else '?'}"


def told(app: FastAPI) -> list[str]:
    """The event an order records: on PostgreSQL the event and its procrastinate job in one
    statement, on SQLite the event, then its job in the embedded runner's table."""
    if app.state.settings.is_sqlite:
        return ["INSERT domain_events", "INSERT local_jobs"]
    return ["WITH domain_events"]


async def _second_sku(m: Market) -> dict[str, Any]:
    # priced apart from the first SKU: a price taken from the wrong SKU's tiers shows
    sku = await m.net.sku(
        name="Yogur de mora Sabores de Cotopaxi 1 l",
        producer_price_cents=700,
        tiers=[
            {"min_quantity": "0", "unit_price_cents": 900},
            {"min_quantity": "3", "unit_price_cents": 850},
        ],
    )
    product = await m.net.sheet()
    assert (await m.net.approve(sku["id"], product["id"])).status_code == 201
    await m.offer(
        m.cycle["id"], m.net.association["id"], "40", m.net.association_staff, sku_id=sku["id"]
    )
    return sku


async def test_an_invoice_order_sends_the_floors_statements(
    market: Market,  # noqa: F811
    app: FastAPI,
) -> None:
    m = market
    yogurt = await _second_sku(m)
    body = {
        "buyer_id": m.buyer["id"],
        "cycle_id": m.cycle["id"],
        "lines": [
            {"sku_id": yogurt["id"], "quantity": "2"},
            {"sku_id": m.sku["id"], "quantity": "3"},
        ],
        "payment_method": "invoice",
    }
    headers = {**m.buyer_staff, "Idempotency-Key": "dos-lineas"}
    with statements(app) as sent:
        r = await m.client.post("/api/v1/orders", json=body, headers=headers)
    assert r.status_code == 201, r.text
    shapes = [shape(s) for s in sent]
    auth = [s for s in shapes if s.split()[1] in AUTH_TABLES]
    assert len(auth) <= 1, shapes  # the caller: one prebuilt query
    work = [s for s in shapes if s.split()[1] not in AUTH_TABLES]
    assert work == [
        "SELECT order_cycles",  # the gate: the cycle FOR SHARE, with the buyer
        "UPDATE cycle_skus",  # one reserve per SKU, answering price, name and pack
        "UPDATE cycle_skus",
        "INSERT orders",
        "INSERT order_lines",  # every line in one statement
        "INSERT payment_authorizations",  # no lookup before it, no audit row after
        "INSERT order_events",
        *told(app),  # the domain event and its dispatch job (app/events)
        "INSERT idempotency_keys",  # the claim, storing the answer
    ], shapes

    # the answer, built from what the statements returned, is what a read gives back
    placed = r.json()
    got = await m.client.get(f"/api/v1/orders/{placed['id']}", headers=m.buyer_staff)
    assert got.status_code == 200, got.text
    assert placed == got.json()
    assert [line["sku_name"] for line in placed["lines"]] == [
        line["sku_name"] for line in got.json()["lines"]
    ]
    assert placed["buyer_name"] == "Mama Miche Marisquería"
    prices = {line["sku_id"]: line["unit_price_cents"] for line in placed["lines"]}
    assert prices == {yogurt["id"]: 900, m.sku["id"]: 400}  # 2 yogurts: below the 3 of 850
    assert placed["payment"] == {
        "method": "invoice",
        "status": "not_required",
        "amount_cents": 3000,
        "due_in_days": placed["payment"]["due_in_days"],
    }
    assert placed["total_cents"] == 3000
    events = await m.client.get(f"/api/v1/orders/{placed['id']}/events", headers=m.buyer_staff)
    assert [e["type"] for e in events.json()] == ["order.placed"]
    assert events.json()[0]["data"] == {"total_cents": 3000}

    # the next order reaches the yogurt's second tier: the price of the volume reached
    more = await m.client.post(
        "/api/v1/orders",
        json={**body, "lines": [{"sku_id": yogurt["id"], "quantity": "1"}]},
        headers=m.buyer_staff,
    )
    assert more.status_code == 201, more.text
    assert more.json()["lines"][0]["unit_price_cents"] == 850
    assert events.json()[0]["actor"] is not None


async def test_a_cash_order_without_a_key_sends_no_idempotency_row(
    market: Market,  # noqa: F811
    app: FastAPI,
) -> None:
    m = market
    with statements(app) as sent:
        r = await m.order("4", payment_method="cash_on_delivery")
    assert r.status_code == 201, r.text
    work = [shape(s) for s in sent if shape(s).split()[1] not in AUTH_TABLES]
    assert work == [
        "SELECT order_cycles",
        "UPDATE cycle_skus",
        "INSERT orders",
        "INSERT order_lines",
        "INSERT payment_authorizations",
        "INSERT order_events",
        *told(app),
    ]
    assert r.json()["payment"]["method"] == "cash_on_delivery"
    assert r.json()["payment"]["due_in_days"] is None


async def test_a_retried_key_replays_even_once_the_work_would_fail(
    market: Market,  # noqa: F811
) -> None:
    """The claim stores the answer: a retry gets it again, with the stock reserved once;
    another body is 422; and after the cycle closed, a retry still gets its order, not 409."""
    m = market
    headers = {**m.buyer_staff, "Idempotency-Key": "pedido-del-lunes"}
    first = await m.order("5", headers=headers)
    assert first.status_code == 201, first.text
    assert "Idempotent-Replayed" not in first.headers
    again = await m.order("5", headers=headers)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert (await m.availability())["reserved"] == "5.000"
    assert_problem(await m.order("6", headers=headers), 422, "idempotency_key_reused")

    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/close", headers=m.net.admin)
    assert r.status_code == 200, r.text
    assert_problem(await m.order("5"), 409, "cycle_not_open")  # no key: the work fails
    late = await m.order("5", headers=headers)
    assert late.status_code == 201, late.text
    assert late.json()["id"] == first.json()["id"]
    assert_problem(await m.order("6", headers=headers), 422, "idempotency_key_reused")


async def test_a_key_past_its_time_is_taken_over_and_runs_again(
    market: Market,  # noqa: F811
    app: FastAPI,
) -> None:
    m = market
    headers = {**m.buyer_staff, "Idempotency-Key": "pedido-viejo"}
    first = await m.order("2", headers=headers)
    assert first.status_code == 201, first.text
    async with app.state.sessionmaker() as session:
        await session.execute(
            update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        await session.commit()
    second = await m.order("3", headers=headers)  # another body: the old key is over
    assert second.status_code == 201, second.text
    assert second.json()["id"] != first.json()["id"]
    assert "Idempotent-Replayed" not in second.headers
    replay = await m.order("3", headers=headers)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json()["id"] == second.json()["id"]
    assert (await m.availability())["reserved"] == "5.000"


async def test_a_refused_order_stores_nothing(
    market: Market,  # noqa: F811
    app: FastAPI,
) -> None:
    """Short stock, a pack that is not whole, an unknown SKU: the problem of the general
    path, and no order, payment, event or key row left behind."""
    m = market
    headers = {**m.buyer_staff, "Idempotency-Key": "demasiado"}
    r = await m.order("51", headers=headers)
    body = assert_problem(r, 409, "insufficient_supply")
    assert body["errors"][0]["available"] == "50.000"
    r = await m.order("1.5", headers=headers)
    assert_problem(r, 422, "not_pack_multiple")
    r = await m.client.post(
        "/api/v1/orders",
        json={
            "buyer_id": m.buyer["id"],
            "cycle_id": m.cycle["id"],
            "lines": [{"sku_id": "no-such-sku", "quantity": "1"}],
            "payment_method": "invoice",
        },
        headers=headers,
    )
    assert_problem(r, 404, "sku_not_found")
    assert (await m.availability())["reserved"] == "0.000"
    async with app.state.sessionmaker() as session:
        for model in (IdempotencyKey, PaymentAuthorization, OrderEvent):
            rows = (await session.execute(sa_select(model))).all()
            assert [
                r for r in rows if getattr(r[0], "type", "order.placed") == "order.placed"
            ] == []

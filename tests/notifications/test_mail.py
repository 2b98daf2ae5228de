"""E-mails through a real SMTP server: written in the transaction of what they tell, sent by
the jobs, once, in each person's language, and only the kinds each person chose."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy import select

from app.events.models import DomainEvent
from app.jobs.tasks import JobContext, run
from app.notifications.models import Notification
from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.orders.conftest import Market, market  # noqa: F401
from tests.utils import assert_problem
from tests.utils.jobs import drain
from tests.utils.smtp import Mailbox, html_of, text_of


async def _buyer_people(m: Market) -> tuple[str, dict[str, str], str, dict[str, str]]:
    """Two more people of the buyer: one reads Spanish (the country's), one English."""
    es_member, es_login = await m.api.member(m.buyer["id"], role="staff", email="rosa@quilotoa.ec")
    en_member, en_login = await m.api.member(m.buyer["id"], role="staff", email="tom@quilotoa.ec")
    r = await m.client.patch("/api/v1/me", json={"language": "en"}, headers=en_login)
    assert r.status_code == 200, r.text
    return es_member["email"], es_login, en_member["email"], en_login


async def _rows(app: FastAPI, kind: str) -> list[Notification]:
    async with app.state.sessionmaker() as session:
        return list(await session.scalars(select(Notification).where(Notification.kind == kind)))


async def test_an_order_mails_every_person_of_the_buyer_in_their_language(
    app: FastAPI,
    market: Market,  # noqa: F811
    mailbox: Mailbox,
) -> None:
    m = market
    es, _, en, _ = await _buyer_people(m)
    r = await m.order("5")
    assert r.status_code == 201, r.text
    order = r.json()
    assert not mailbox.messages  # nothing is sent inside the request
    await drain(app)

    [spanish] = mailbox.to(es, "order_placed")
    assert spanish["Subject"].startswith("Su pedido a ")
    assert spanish["Content-Language"] == "es"
    body = text_of(spanish)
    assert "hizo un pedido" in body
    assert order["id"] in body
    assert "20,00 USD" in body or "," in body  # money written the Spanish way
    assert "<table" in html_of(spanish)
    [english] = mailbox.to(en, "order_placed")
    assert english["Subject"].startswith("Your order with ")
    assert "placed an order" in text_of(english)
    sent = await _rows(app, "order_placed")
    assert {n.state for n in sent} == {"sent"}
    assert all(n.attempts == 1 for n in sent)
    assert len(sent) == len({n.email for n in sent})  # one per person


async def test_a_refused_order_sends_nothing(
    app: FastAPI,
    market: Market,  # noqa: F811
    mailbox: Mailbox,
) -> None:
    m = market
    await _buyer_people(m)
    r = await m.order("5000")  # more than all the offers
    assert r.status_code == 409, r.text
    await drain(app)
    assert [
        m["X-Minga-Kind"] for m in mailbox.messages if m["X-Minga-Kind"] != "cycle_opened"
    ] == []
    assert await _rows(app, "order_placed") == []


async def test_an_event_told_twice_is_mailed_once(
    app: FastAPI,
    market: Market,  # noqa: F811
    mailbox: Mailbox,
) -> None:
    m = market
    es, _, _, _ = await _buyer_people(m)
    assert (await m.order("5")).status_code == 201
    async with app.state.sessionmaker() as session:
        event_id = await session.scalar(
            select(DomainEvent.id).where(DomainEvent.type == "order.placed")
        )
    ctx = JobContext(app.state.sessionmaker, app.state.settings)
    await run(ctx, "events.dispatch", {"event_id": event_id})
    await run(ctx, "events.dispatch", {"event_id": event_id})  # a second job for it
    await drain(app)
    assert len(mailbox.to(es, "order_placed")) == 1
    sent = await _rows(app, "order_placed")
    for notification in sent:  # and a second send job for a sent message sends nothing
        await run(ctx, "notifications.send", {"notification_id": notification.id})
    assert len(mailbox.to(es, "order_placed")) == 1


async def test_each_person_chooses_what_they_get(
    app: FastAPI,
    market: Market,  # noqa: F811
    mailbox: Mailbox,
) -> None:
    m = market
    es, es_login, en, _ = await _buyer_people(m)
    r = await m.client.get("/api/v1/me/notifications", headers=es_login)
    assert r.status_code == 200, r.text
    kinds = {k["kind"]: k for k in r.json()["items"]}
    assert kinds["order_placed"]["enabled"]
    assert kinds["order_placed"]["can_turn_off"]
    assert not kinds["password_reset"]["can_turn_off"]

    r = await m.client.patch(
        "/api/v1/me/notifications", json={"order_placed": False}, headers=es_login
    )
    assert r.status_code == 200, r.text
    assert {k["kind"]: k["enabled"] for k in r.json()["items"]}["order_placed"] is False
    assert_problem(
        await m.client.patch(
            "/api/v1/me/notifications", json={"password_reset": False}, headers=es_login
        ),
        422,
        "notification_required",
    )
    assert_problem(
        await m.client.patch("/api/v1/me/notifications", json={"spam": True}, headers=es_login),
        422,
        "notification_kind_unknown",
    )
    assert (await m.order("5")).status_code == 201
    await drain(app)
    assert mailbox.to(es, "order_placed") == []
    assert len(mailbox.to(en, "order_placed")) == 1


async def test_a_server_that_fails_gets_the_message_on_a_later_try(
    app: FastAPI,
    market: Market,  # noqa: F811
    mailbox: Mailbox,
) -> None:
    m = market
    es, _, _, _ = await _buyer_people(m)
    mailbox.refuse = 100  # the server answers 451 to everything for now
    assert (await m.order("5")).status_code == 201
    await drain(app)
    rows = [n for n in await _rows(app, "order_placed") if n.email == es]
    assert rows[0].state == "pending"
    assert rows[0].attempts == 1
    assert rows[0].last_error
    assert "451" in rows[0].last_error
    mailbox.refuse = 0
    await drain(app, forward=True)
    assert len(mailbox.to(es, "order_placed")) == 1
    [row] = [n for n in await _rows(app, "order_placed") if n.email == es]
    assert row.state == "sent"
    assert row.attempts == 2
    assert row.last_error is None

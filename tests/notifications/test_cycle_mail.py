"""A whole cycle, told: each person hears what concerns their organisation, once, in their
language, with the invoice attached; and the next cycle tells its buyers it opened, that it
closes soon, and what their standing order placed."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

from fastapi import FastAPI

from app.core.timeutil import utcnow
from app.orders.scheduler import tick
from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market, market  # noqa: F401
from tests.utils.jobs import drain
from tests.utils.smtp import Mailbox, text_of


async def _email(m: Market, headers: dict[str, str]) -> str:
    email: str = (await m.client.get("/api/v1/me", headers=headers)).json()["email"]
    return email


async def test_a_whole_cycle_tells_each_person_once(
    app: FastAPI,
    market: Market,  # noqa: F811
    mailbox: Mailbox,
) -> None:
    m = market
    buyer = await _email(m, m.buyer_staff)
    first = await _email(m, m.net.association_staff)
    second = await _email(m, m.second_staff)
    r = await m.client.post(
        "/api/v1/standing-orders",
        json={
            "buyer_id": m.buyer["id"],
            "network_id": m.net.network["id"],
            "lines": [{"sku_id": m.sku["id"], "quantity": "4"}],
            "payment_method": "invoice",
        },
        headers=m.buyer_staff,
    )
    assert r.status_code == 201, r.text
    assert (await m.order("10")).status_code == 201

    floor = await Floor.start(m)
    await floor.close()
    await floor.receive_all()
    shipments = await floor.build()
    [shipment] = shipments
    r = await m.client.post(
        f"/api/v1/collection-centres/{m.centre['id']}/vehicles",
        json={"name": "Camioneta de la red", "capacity_kg": "500", "chilled": True},
        headers=floor.admin,
    )
    assert r.status_code == 201, r.text
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/routes", headers=floor.staff)
    assert r.status_code == 200, r.text
    [route] = r.json()["routes"]
    for _ in range(2):  # a second departure tells nobody again
        r = await m.client.post(f"/api/v1/routes/{route['id']}/depart", headers=floor.staff)
        assert r.status_code == 200, r.text
        assert r.json()["stops"] == 1
    r = await m.client.post(
        f"/api/v1/shipments/{shipment['id']}/deliver",
        json={
            "received_by": "Cocina",
            "returns": [{"sku_id": m.sku["id"], "quantity": "1", "reason": "llegó golpeado"}],
        },
        headers=floor.staff,
    )
    assert r.status_code == 200, r.text
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text
    r = await m.client.get(
        "/api/v1/invoices", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
    )
    [invoice] = r.json()["items"]
    r = await m.client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": "1", "reason": "queso con moho"}]},
        headers=m.net.admin,
    )
    assert r.status_code == 201, r.text

    # the next cycle: it opens (the standing order places itself) and closes within the hour
    start = utcnow() + timedelta(days=3)
    cycle = await m.new_cycle(
        opens_at=start.isoformat(), closes_at=(start + timedelta(minutes=50)).isoformat()
    )
    await m.offer(cycle["id"], m.net.association["id"], "10", m.net.association_staff)
    done = await tick(app.state.sessionmaker, app.state.settings, start + timedelta(minutes=1))
    assert cycle["id"] in done.opened
    await drain(app)

    told = Counter((message["To"], message["X-Minga-Kind"]) for message in mailbox.messages)
    assert all(n == 1 for n in told.values()), told  # once each
    assert {kind for to, kind in told if to == buyer} == {
        "order_placed",
        "order_confirmed",
        "shipment_dispatched",
        "shipment_delivered",
        "invoice_issued",
        "credit_note_issued",
        "cycle_opened",
        "cycle_closing",
        "standing_order_placed",
    }
    for association in (first, second):
        assert {kind for to, kind in told if to == association} == {
            "delivery_order",
            "payout_statement",
        }

    [invoice] = mailbox.to(buyer, "invoice_issued")
    assert invoice["Subject"].startswith("Factura ")
    [pdf] = list(invoice.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content()[:5] == b"%PDF-"
    assert pdf.get_filename().startswith("invoice-")

    [credit] = mailbox.to(buyer, "credit_note_issued")
    assert credit["Subject"].startswith("Nota de crédito NC-")
    [reprint] = list(credit.iter_attachments())
    assert reprint.get_content()[:5] == b"%PDF-"
    assert reprint.get_content() != pdf.get_content()  # the invoice now lists the note

    [delivered] = mailbox.to(buyer, "shipment_delivered")
    text = text_of(delivered)
    assert "devuelto 1: llegó golpeado" in text
    assert "Cocina" in text
    [on_its_way] = mailbox.to(buyer, "shipment_dispatched")
    assert on_its_way["Subject"].startswith("En camino: ")
    assert "Camioneta de la red" in text_of(on_its_way)
    [confirmed] = mailbox.to(buyer, "order_confirmed")
    assert "confirmado" in text_of(confirmed)
    [standing] = mailbox.to(buyer, "standing_order_placed")
    assert "pedido fijo" in standing["Subject"]
    [delivery] = mailbox.to(first, "delivery_order")
    allocated = floor.allocated(m.net.association["id"])
    assert f"{allocated.normalize():f}".replace(".", ",") in text_of(delivery)
    [payout] = mailbox.to(first, "payout_statement")
    assert "Liquidación" in payout["Subject"]
    assert Decimal(allocated) > 0

"""Issue 11, the smaller findings on hostile input (7, 8, 9 and 11), against
``minga serve --workers 2`` on PostgreSQL: what the in-process tests check, seen from outside.

7. ``GET /invoices.csv`` wrote ``=HYPERLINK(…)`` verbatim and stopped at 50 (at most 200) rows.
8. Markup in an organisation's name broke the packing-list PDF (500), and
   ``<img src="/etc/hostname"/>`` made the renderer open a local file.
9. Webhook events with a 300-character type or amounts of 10¹² gave 500; a signature dated
   10 minutes ahead was accepted.
11. Quantities such as ``" 5 "``, Arabic-Indic or full-width digits, ``"5e2"``, ``"1_000"``
    were accepted; weak passwords too; photos were served without ``nosniff``; a PNG with
    HTML appended was stored as it came.
"""

from __future__ import annotations

import asyncio
import io
import time
from typing import Any

import httpx
import pytest
from PIL import Image

from tests.api.test_password_policy import WEAK
from tests.api.test_strict_formats import REFUSED
from tests.brands.conftest import build_network
from tests.catalog.helpers import Catalog
from tests.catalog.test_image_reencoding import APPENDED, _png_with_baggage
from tests.fulfilment.helpers import Floor
from tests.fulfilment.test_documents_markup import HOSTILE, _hostile_market, pdf_text, squeezed
from tests.live import needs_postgresql
from tests.live.conftest import Live
from tests.orders.conftest import Market, build_market
from tests.payments.helpers import event, post_event, sign
from tests.payments.test_webhook_payloads import _envelope, _intent
from tests.settlement.test_exports import FORMULA, rows_of
from tests.utils import assert_problem

pytestmark = [pytest.mark.slow, pytest.mark.postgres, needs_postgresql]

INVOICES = 205  # more than a page of 200: the export must not stop at one
AT_ONCE = 16  # orders in flight together while they are placed
NEW_EMAIL = "rosa.quispe@minga.ec"  # the e-mail the password policy's examples are made of


async def _offers_up_to(m: Market, quantity: str) -> None:
    """Raise the market's first supplier's offer (the other keeps its 20)."""
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/offers", headers=m.net.admin)
    assert r.status_code == 200, r.text
    [first] = [o for o in r.json() if o["association_id"] == m.net.association["id"]]
    r = await m.client.patch(
        f"/api/v1/cycles/{m.cycle['id']}/offers/{first['id']}",
        json={"quantity": quantity},
        headers=m.net.association_staff,
    )
    assert r.status_code == 200, r.text


async def _place_many(m: Market, count: int) -> list[dict[str, Any]]:
    gate = asyncio.Semaphore(AT_ONCE)

    async def one(n: int) -> dict[str, Any]:
        number = FORMULA if n == 0 else f"OC-{n:04d}"
        async with gate:
            r = await m.order("1", purchase_order_number=number)
        assert r.status_code == 201, r.text
        placed: dict[str, Any] = r.json()
        return placed

    return await asyncio.gather(*(one(n) for n in range(count)))


async def test_exports_and_documents_take_hostile_text_as_text(live: Live) -> None:
    m = await _hostile_market(await build_network(live.api))  # centre, buyer, supplier: markup
    await _offers_up_to(m, "300")
    await _place_many(m, INVOICES)
    floor = await Floor.start(m)
    await floor.close()
    await floor.receive_all()
    [shipment] = await floor.build()  # one buyer, one shipment

    # 8: the packing list draws the names as text: 200, and the markup printed literally
    r = await m.client.get(
        f"/api/v1/shipments/{shipment['id']}/packing-list.pdf", headers=floor.staff
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["x-content-type-options"] == "nosniff"
    text = pdf_text(r.content)
    assert text.count(squeezed(HOSTILE)) >= 3, text  # the centre, the buyer, the supplier

    await floor.deliver_all([shipment])
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text
    assert r.json()["invoices"] == INVOICES

    # 7: every invoice, each cell a spreadsheet would run as a formula neutralised
    rows = rows_of(
        await m.client.get(
            "/api/v1/invoices.csv", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
        )
    )
    assert len(rows) == INVOICES
    assert len({row["number"] for row in rows}) == INVOICES
    numbers = {row["purchase_order_number"] for row in rows}
    assert "'" + FORMULA in numbers
    assert FORMULA not in numbers
    assert numbers - {"'" + FORMULA} == {f"OC-{n:04d}" for n in range(1, INVOICES)}
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row


async def test_webhook_events_out_of_bounds_are_400_problems(live: Live) -> None:
    for body in (
        _envelope(type="payment_intent." + "x" * 300),
        event("payment_intent.succeeded", _intent("pi_sizes", amount_received=10**12)),
        event(
            "charge.refunded",
            {"id": "ch_1", "payment_intent": "pi_sizes", "amount_refunded": 10**12},
        ),
    ):
        r = await post_event(live.client, body)
        assert_problem(r, 400, "invalid_webhook_payload")
    body = event("customer.created", {"id": "cus_1", "object": "customer"})
    for skew in (600, -600):  # ten minutes ahead, and ten minutes ago
        r = await post_event(
            live.client, body, signature=sign(body, timestamp=int(time.time()) + skew)
        )
        assert_problem(r, 400, "invalid_signature")
    r = await post_event(live.client, body)  # the same event, signed now: taken, once
    assert r.status_code == 200, r.text
    assert (await post_event(live.client, body)).status_code == 200


async def _vehicle(floor: Floor, capacity: Any) -> httpx.Response:
    return await floor.client.post(
        f"/api/v1/collection-centres/{floor.m.centre['id']}/vehicles",
        json={"name": "Camioneta", "capacity_kg": capacity},
        headers=floor.admin,
    )


async def test_quantities_passwords_and_photos_are_strict(live: Live) -> None:
    m = await build_market(await build_network(live.api))
    floor = await Floor.start(m)
    for spelled in REFUSED:
        body = assert_problem(await m.order(spelled), 422, "validation_error")
        assert [e["field"] for e in body["errors"]] == ["lines.0.quantity"], spelled
        body = assert_problem(await _vehicle(floor, spelled), 422, "validation_error")
        assert [e["field"] for e in body["errors"]] == ["capacity_kg"], spelled
    assert (await m.availability())["reserved"] == "0.000"
    r = await m.order("5")
    assert r.status_code == 201, r.text
    assert r.headers["x-content-type-options"] == "nosniff"

    # weak passwords, those of the finding first
    admin = await live.api.admin()
    finding = [("12345678", "at least 10"), ("password", "at least 10"), (NEW_EMAIL, "e-mail")]
    for password, reason in [*finding, *WEAK]:
        r = await m.client.post(
            f"/api/v1/organizations/{m.buyer['id']}/members",
            json={
                "email": NEW_EMAIL,
                "full_name": "Rosa Quispe",
                "password": password,
                "role": "staff",
            },
            headers=admin,
        )
        assert reason in assert_problem(r, 422, "weak_password")["detail"], password

    # a PNG with HTML appended is served re-encoded, without it, and never sniffed
    catalog = await Catalog.start(live.api)
    product = await catalog.create()
    r = await m.client.post(
        f"/api/v1/products/{product['id']}/images",
        files={"file": ("queso.png", _png_with_baggage())},
        headers=catalog.staff,
    )
    assert r.status_code == 201, r.text
    served = await m.client.get(r.json()["url"], headers=catalog.staff)
    assert served.status_code == 200, served.text
    assert served.headers["content-type"] == "image/png"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert APPENDED not in served.content
    assert b"<html" not in served.content
    with Image.open(io.BytesIO(served.content)) as png:
        assert (png.format, png.size) == ("PNG", (6, 4))

    # nosniff on answers of every kind, whoever produced them
    for answer in (
        served,
        await m.client.get("/healthz"),
        await m.client.get("/api/v1/me"),  # 401
        await m.client.get("/api/v1/no-such-thing"),  # 404 of the router
        await m.client.delete("/api/v1/me", headers=admin),  # 405
        await m.client.get("/api/v1/invoices.csv", headers=admin),
        await m.client.get("/metrics"),
    ):
        assert answer.headers.get_list("x-content-type-options") == ["nosniff"], answer

"""An issued invoice's PDF is kept in the bucket at its first print, and every later request
gets that copy, byte for byte, still only for the invoice's readers. A credit note lists
itself on the invoice: the print after it is a copy of its own, the first one stays."""

from __future__ import annotations

from typing import Any

from tests.brands.conftest import net  # noqa: F401 - the fixture these tests build on
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market, market  # noqa: F401
from tests.storage.conftest import Bucket
from tests.utils import assert_problem, pdf


async def _invoice(m: Market) -> dict[str, Any]:
    assert (await m.order("7")).status_code == 201
    f = await Floor.start(m)
    await f.through_delivery()
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text
    r = await m.client.get(
        "/api/v1/invoices", params={"cycle_id": m.cycle["id"]}, headers=m.buyer_staff
    )
    [invoice] = r.json()["items"]
    return invoice  # type: ignore[no-any-return]


async def _print(m: Market, invoice_id: str, **params: str) -> bytes:
    r = await m.client.get(
        f"/api/v1/invoices/{invoice_id}.pdf", params=params, headers=m.buyer_staff
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    return r.content


async def test_the_first_print_of_an_invoice_is_the_one_served(
    market: Market,  # noqa: F811
    bucket: Bucket,
) -> None:
    m = market
    invoice = await _invoice(m)
    key = f"invoices/{invoice['id']}.pdf"
    assert bucket.objects("invoices/") == []

    first = await _print(m, invoice["id"])
    assert bucket.objects("invoices/") == [key]
    assert bucket.read(key) == (first, "application/pdf")
    assert f"Factura {invoice['number']}" in pdf.text(first)
    assert await _print(m, invoice["id"]) == first

    # what is served is the stored copy, not a new drawing
    copy = first.replace(b"ReportLab Generated PDF document", b"ReportLab Generated PDF  copy   ")
    bucket.write(key, copy, "application/pdf")
    assert await _print(m, invoice["id"]) == copy

    # still the invoice's readers only
    other = await m.api.organization("buyer", name="Otro restaurante")
    _, other_staff = await m.api.member(other["id"], role="staff")
    r = await m.client.get(f"/api/v1/invoices/{invoice['id']}.pdf", headers=other_staff)
    assert_problem(r, 404, "invoice_not_found")

    # a language asked for is a copy of its own
    english = await _print(m, invoice["id"], lang="en")
    assert f"Invoice {invoice['number']}" in pdf.text(english)
    assert bucket.objects("invoices/") == [f"invoices/{invoice['id']}.en.pdf", key]
    assert await _print(m, invoice["id"], lang="en") == english


async def test_a_credit_note_makes_a_new_print_and_keeps_the_first(
    market: Market,  # noqa: F811
    bucket: Bucket,
) -> None:
    m = market
    invoice = await _invoice(m)
    first = await _print(m, invoice["id"])

    r = await m.client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": "2", "reason": "llegó roto"}]},
        headers=m.net.admin,
    )
    assert r.status_code == 201, r.text
    note = r.json()

    after = await _print(m, invoice["id"])
    assert f"Nota de crédito {note['number']}" in pdf.text(after)
    assert f"Nota de crédito {note['number']}" not in pdf.text(first)
    assert bucket.objects("invoices/") == [
        f"invoices/{invoice['id']}.cn1.pdf",
        f"invoices/{invoice['id']}.pdf",
    ]
    assert bucket.read(f"invoices/{invoice['id']}.pdf")[0] == first
    assert await _print(m, invoice["id"]) == after

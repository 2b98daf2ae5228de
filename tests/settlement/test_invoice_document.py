"""Taxes per network and category on invoices, and the invoice as a PDF read back: issuer
and buyer with their tax ids, the gapless number, dates, lines, IVA per line, totals that
add up, the price breakdown and how to pay, in Spanish and English."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from app.brands.taxes import line_tax
from tests.brands.conftest import Network, net  # noqa: F401 - the fixture these tests build on
from tests.fulfilment.helpers import Floor, lot_code
from tests.orders.conftest import Market, market  # noqa: F401
from tests.utils import assert_problem, pdf

SHOTS = os.environ.get("MINGA_TEST_SHOTS")


def test_line_tax_rounds_half_up_per_line() -> None:
    assert line_tax(2800, 1500) == 420
    assert line_tax(1003, 1500) == 150  # 150.45
    assert line_tax(1005, 1500) == 151  # 150.75
    assert line_tax(2, 2500) == 1  # 0.5: half up
    assert line_tax(-2, 2500) == -1  # a credit takes back what the line charged
    assert line_tax(123_456, 0) == 0


async def _rate(m: Market, category: str, rate_bps: int, **kw: Any) -> Any:
    return await m.client.put(
        f"/api/v1/networks/{m.net.network['id']}/tax-rates",
        json={"category": category, "rate_bps": rate_bps},
        **({"headers": m.net.admin} | kw),
    )


async def test_tax_rates_are_set_by_the_network_admin(market: Market) -> None:  # noqa: F811
    m = market
    r = await _rate(m, "dairy", 1500)
    assert r.status_code == 200, r.text
    assert r.json()["rate_bps"] == 1500
    assert r.json()["name"] == "IVA"
    assert (await _rate(m, "dairy", 1200)).json()["rate_bps"] == 1200  # changed, not added
    r = await m.client.get(f"/api/v1/networks/{m.net.network['id']}/tax-rates", headers=m.net.admin)
    assert [(x["category"], x["rate_bps"]) for x in r.json()] == [("dairy", 1200)]

    assert_problem(await _rate(m, "no-such-category", 1500), 422, "unknown_category")
    assert_problem(await _rate(m, "dairy", 10_001), 422, "validation_error")
    assert_problem(await _rate(m, "dairy", 0, headers=m.net.staff), 403, "insufficient_role")
    assert_problem(await _rate(m, "dairy", 0, headers=m.buyer_staff), 404, "network_not_found")


async def test_invoice_taxes_totals_and_document(
    market: Market,  # noqa: F811
    tmp_path: Path,
) -> None:
    m = market
    # eggs, from the first association, taxed at 0 %; the cheese at 15 %
    eggs = await m.net.sku(
        name="Huevos de campo Sabores de Cotopaxi x 30",
        category="eggs",
        unit="unit",
        unit_weight_kg="1.8",
        producer_price_cents=300,
        tiers=[{"min_quantity": "0", "unit_price_cents": 455}],
    )
    sheet = await m.net.sheet(
        name="Huevos de campo", category="eggs", storage="ambient", allergens=["huevo"]
    )
    assert (await m.net.approve(eggs["id"], sheet["id"])).status_code == 201
    r = await m.client.post(
        f"/api/v1/cycles/{m.cycle['id']}/offers",
        json={"sku_id": eggs["id"], "association_id": m.net.association["id"], "quantity": "50"},
        headers=m.net.association_staff,
    )
    assert r.status_code == 201, r.text
    assert (await _rate(m, "dairy", 1500)).status_code == 200
    assert (await _rate(m, "eggs", 0)).status_code == 200

    r = await m.order(
        "7",
        lines=[
            {"sku_id": m.sku["id"], "quantity": "7"},
            {"sku_id": eggs["id"], "quantity": "3"},
        ],
        purchase_order_number="OC-2026-118",
    )
    assert r.status_code == 201, r.text

    f = await Floor.start(m)
    await f.close()
    for delivery_order in f.delivery_orders.values():
        for line in delivery_order["lines"]:
            await f.received(
                delivery_order["association_id"],
                line["quantity"],
                sku_id=line["sku_id"],
                lot_code=lot_code("INV"),
            )
    await f.deliver_all()
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text

    [invoice] = (
        await m.client.get(
            "/api/v1/invoices", params={"cycle_id": m.cycle["id"]}, headers=m.buyer_staff
        )
    ).json()["items"]
    lines = {x["sku_id"]: x for x in invoice["lines"]}
    cheese, eggs_line = lines[m.sku["id"]], lines[eggs["id"]]
    assert (cheese["amount_cents"], cheese["tax_rate_bps"], cheese["tax_cents"]) == (
        2800,
        1500,
        420,
    )
    assert (eggs_line["amount_cents"], eggs_line["tax_rate_bps"], eggs_line["tax_cents"]) == (
        1365,
        0,
        0,
    )
    assert invoice["subtotal_cents"] == 2800 + 1365
    assert invoice["tax_cents"] == 420
    assert invoice["total_cents"] == 2800 + 1365 + 420
    # the breakdown splits the price before tax; the tax comes on top
    assert sum(invoice["price_breakdown"].values()) == invoice["subtotal_cents"]
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/ledger", headers=m.net.admin)
    assert r.json()["differences"] == [], r.json()

    network, buyer = m.net.network, m.buyer
    body = await _pdf(m, invoice["id"])
    spanish = pdf.text(body)
    for expected in (
        f"Factura {invoice['number']}",
        network["name"],
        f"RUC {network['tax_id']}",
        "Mulaló, Latacunga, Cotopaxi, EC",
        "Facturar a:",
        buyer["name"],
        f"RUC {buyer['tax_id']}",
        f"Emitida: {invoice['issued_at'][:10]}",
        f"Vence: {invoice['due_on']}",
        f"Entregada: {m.cycle['delivery_date']}",
        "Orden de compra: OC-2026-118",
        "Queso fresco Sabores de Cotopaxi 500 g",
        "Huevos de campo Sabores de Cotopaxi x 30",
        "7 u.",
        "4,00 USD",
        "28,00 USD",
        "15 % 4,20 USD",
        "0 % 0,00 USD",
        "Subtotal 41,65 USD",
        "IVA 0 % sobre 13,65 USD 0,00 USD",
        "IVA 15 % sobre 28,00 USD 4,20 USD",
        "Total 45,85 USD",
        "A dónde va el dinero (antes de impuestos)",
        "Productores (precio justo)",
        f"Pago a crédito: transfiera 45,85 USD a {network['name']} hasta el {invoice['due_on']}",
        f"indicando la factura {invoice['number']}",
    ):
        assert expected in spanish, (expected, spanish)
    producer = invoice["price_breakdown"]["producer_cents"]
    assert f"{producer // 100},{producer % 100:02d} USD" in spanish
    images = pdf.render(body, tmp_path / "invoice")
    assert len(images) == 1
    if SHOTS:
        shutil.copy(images[0], Path(SHOTS) / "invoice-es.png")

    english = pdf.text(await _pdf(m, invoice["id"], lang="en"))
    for expected in (
        f"Invoice {invoice['number']}",
        "Bill to:",
        "VAT 15 % on 28.00 USD 4.20 USD",
        "Total 45.85 USD",
        "Producers (fair price)",
        "Payment on terms: pay 45.85 USD",
    ):
        assert expected in english, (expected, english)

    # a credit note takes back the tax of what it credits
    r = await m.client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": "2", "reason": "llegó roto"}]},
        headers=m.net.admin,
    )
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["lines"][0]["amount_cents"] == 800
    assert note["lines"][0]["tax_cents"] == 120
    assert note["total_cents"] == 920
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/ledger", headers=m.net.admin)
    assert r.json()["differences"] == [], r.json()
    assert f"Nota de crédito {note['number']} -9,20 USD" in pdf.text(await _pdf(m, invoice["id"]))

    # the invoice's readers only: its buyer and its network
    other = await m.api.organization("buyer", name="Otro restaurante")
    _, other_staff = await m.api.member(other["id"], role="staff")
    r = await m.client.get(f"/api/v1/invoices/{invoice['id']}.pdf", headers=other_staff)
    assert_problem(r, 404, "invoice_not_found")
    r = await m.client.get(f"/api/v1/invoices/{invoice['id']}.pdf", headers=m.net.admin)
    assert r.status_code == 200


async def _pdf(m: Market, invoice_id: str, **params: str) -> bytes:
    r = await m.client.get(
        f"/api/v1/invoices/{invoice_id}.pdf", params=params, headers=m.buyer_staff
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    return r.content

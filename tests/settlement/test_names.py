"""Names beside ids (issue 12) in what settlement shows: invoices and their lines, credit
notes, payouts, the dashboard and the CSV exports; an invoices page in constant queries."""

from __future__ import annotations

import csv
import io

import httpx
from fastapi import FastAPI

from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.fulfilment.full_cycle import BUYERS, settled
from tests.orders.conftest import Market, market  # noqa: F401
from tests.utils.queries import statements_per_page

SKU = "Queso fresco Sabores de Cotopaxi 500 g"
NETWORK = "Red Agroecológica de Cotopaxi"
ASSOCIATIONS = {"Asociación Sabores de Mulaló": "Mulaló", "Asociación Nueva Esperanza": "Pujilí"}


def _csv(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    return list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))


async def test_invoices_and_credit_notes_show_names(market: Market) -> None:  # noqa: F811
    m = market
    day = await settled(m, buyers=3)
    r = await m.client.get(
        "/api/v1/invoices", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
    )
    invoices = r.json()["items"]
    assert {i["buyer_name"] for i in invoices} == {name for name, _, _ in BUYERS[:3]}
    for invoice in invoices:
        assert invoice["network_name"] == NETWORK
        assert invoice["buyer_name"] == day.buyer(invoice["buyer_id"])["name"]
        assert [line["sku_name"] for line in invoice["lines"]] == [SKU]

    invoice = invoices[0]
    staff = day.staff[invoice["buyer_id"]]
    r = await m.client.get(f"/api/v1/invoices/{invoice['id']}", headers=staff)
    assert r.json()["buyer_name"] == invoice["buyer_name"]
    r = await m.client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": "1", "reason": "queso golpeado"}]},
        headers=m.net.admin,
    )
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["buyer_name"] == invoice["buyer_name"]
    assert note["lines"][0]["sku_name"] == SKU
    r = await m.client.get(f"/api/v1/invoices/{invoice['id']}/credit-notes", headers=staff)
    assert [n["buyer_name"] for n in r.json()] == [invoice["buyer_name"]]

    rows = _csv(
        await m.client.get(
            "/api/v1/invoices.csv", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
        )
    )
    assert {(row["buyer_id"], row["buyer_name"]) for row in rows} == {
        (i["buyer_id"], i["buyer_name"]) for i in invoices
    }


async def test_payouts_and_the_dashboard_show_names(market: Market) -> None:  # noqa: F811
    m = market
    await settled(m, buyers=2)
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/payouts", headers=m.net.admin)
    payouts = r.json()
    assert {p["association_name"]: p["parish"] for p in payouts} == ASSOCIATIONS
    for payout in payouts:
        [line] = payout["lines"]
        assert (line["sku_name"], line["product_name"]) == (SKU, "Queso fresco de Mulaló")
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/payouts", headers=m.second_staff)
    [own] = r.json()
    assert own["association_name"] == "Asociación Nueva Esperanza"

    rows = _csv(
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/payouts.csv", headers=m.net.admin)
    )
    assert {row["association_name"]: row["parish"] for row in rows} == ASSOCIATIONS
    assert {(row["sku_name"], row["product_name"]) for row in rows} == {
        (SKU, "Queso fresco de Mulaló")
    }
    assert {row["association_id"] for row in rows} == {p["association_id"] for p in payouts}

    r = await m.client.get(f"/api/v1/networks/{m.net.network['id']}/dashboard", headers=m.net.admin)
    board = r.json()
    assert board["network_name"] == NETWORK
    [volume] = board["volume_by_sku"]
    assert volume["sku_id"] == m.sku["id"]
    assert volume["sku_name"] == volume["name"] == SKU


async def test_a_page_of_invoices_costs_the_same_queries_whatever_its_size(
    market: Market,  # noqa: F811
    app: FastAPI,
) -> None:
    m = market
    day = await settled(m)
    # a credit note on one invoice: its lines and numbers are read for the page too
    r = await m.client.get("/api/v1/invoices", params={"limit": 1}, headers=m.net.admin)
    first = r.json()["items"][0]
    r = await m.client.post(
        f"/api/v1/invoices/{first['id']}/credit-notes",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": "1", "reason": "roto"}]},
        headers=m.net.admin,
    )
    assert r.status_code == 201, r.text

    async def page(limit: int) -> httpx.Response:
        return await m.client.get(
            "/api/v1/invoices",
            params={"cycle_id": m.cycle["id"], "limit": limit},
            headers=m.net.admin,
        )

    counts = await statements_per_page(app, page, (1, len(day.buyers)))
    assert counts[1] == counts[len(day.buyers)], counts

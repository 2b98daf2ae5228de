"""Settling a cycle: invoices numbered without gaps, payouts to the cent, the dashboard."""

from __future__ import annotations

import csv
import io
from typing import Any

from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market, market  # noqa: F401
from tests.utils import assert_problem

PARTS = ("producer_cents", "logistics_cents", "network_cents", "solidarity_fund_cents")


async def _close_and_settle(m: Market, key: str | None = None) -> dict[str, Any]:
    """Close, receive, pack and deliver everything, then settle."""
    await (await Floor.start(m)).through_delivery()
    headers = {**m.net.admin, **({"Idempotency-Key": key} if key else {})}
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=headers)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_settle_invoices_and_pays(market: Market) -> None:  # noqa: F811
    m = market
    other = await m.api.organization(
        "buyer", name="Charlie comida rápida de mar", payment_terms_days=45
    )
    _, other_staff = await m.api.member(other["id"], role="staff")
    await m.order("7")
    await m.order("5", purchase_order_number="OC-77")
    r = await m.order("9", headers=other_staff, buyer_id=other["id"])
    assert r.status_code == 201, r.text

    result = await _close_and_settle(m, key="settle-1")
    assert result["status"] == "settled"
    assert result["invoices"] == 3
    assert result["invoiced_cents"] == 21 * 400
    assert result["payouts"] == 2
    assert result["paid_out_cents"] == 21 * 250

    invoices = (
        await m.client.get(
            "/api/v1/invoices", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
        )
    ).json()["items"]
    numbers = sorted(int(i["number"].split("-")[1]) for i in invoices)
    assert numbers == [1, 2, 3]
    for invoice in invoices:
        assert invoice["total_cents"] == sum(line["amount_cents"] for line in invoice["lines"])
        assert sum(invoice["price_breakdown"][p] for p in PARTS) == invoice["total_cents"]
        for line in invoice["lines"]:
            assert sum(line["price_breakdown"][p] for p in PARTS) == line["amount_cents"]
    by_buyer = {i["buyer_id"]: i for i in invoices if i["buyer_id"] == other["id"]}
    delivery = m.cycle["delivery_date"]
    assert by_buyer[other["id"]]["due_on"] > delivery  # 45 days of terms

    payouts = (
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/payouts", headers=m.net.admin)
    ).json()
    assert sum(p["amount_cents"] for p in payouts) == 21 * 250
    for payout in payouts:
        assert payout["amount_cents"] == sum(line["amount_cents"] for line in payout["lines"])
        for line in payout["lines"]:
            assert line["producer_price_cents"] == 250
            assert line["price_breakdown"]["producer_cents"] == 250

    # settling again, with or without the key, changes nothing
    r = await m.client.post(
        f"/api/v1/cycles/{m.cycle['id']}/settle",
        headers={**m.net.admin, "Idempotency-Key": "settle-1"},
    )
    assert r.json() == result
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.json() == result

    # the next cycle's invoices continue the network's numbering without gaps
    m.cycle = await m.new_cycle()
    await m.offer(m.cycle["id"], m.net.association["id"], "10", m.net.association_staff)
    await m.order("2")
    await _close_and_settle(m)
    invoices = (
        await m.client.get(
            "/api/v1/invoices", params={"network_id": m.net.network["id"]}, headers=m.net.admin
        )
    ).json()["items"]
    assert sorted(int(i["number"].split("-")[1]) for i in invoices) == [1, 2, 3, 4]


async def test_who_sees_invoices_and_payouts(market: Market) -> None:  # noqa: F811
    m = market
    other = await m.api.organization("buyer")
    _, other_staff = await m.api.member(other["id"], role="staff")
    await m.order("7")
    await m.order("3", headers=other_staff, buyer_id=other["id"])
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert_problem(r, 409, "cycle_not_closed")
    await _close_and_settle(m)

    mine = (await m.client.get("/api/v1/invoices", headers=m.buyer_staff)).json()["items"]
    assert [i["buyer_id"] for i in mine] == [m.buyer["id"]]
    theirs = (await m.client.get("/api/v1/invoices", headers=other_staff)).json()["items"]
    r = await m.client.get(f"/api/v1/invoices/{theirs[0]['id']}", headers=m.buyer_staff)
    assert_problem(r, 404, "invoice_not_found")
    payouts = (
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/payouts", headers=m.second_staff)
    ).json()
    assert [p["association_id"] for p in payouts] == [m.second["id"]]
    assert (
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/payouts", headers=m.buyer_staff)
    ).json() == []
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.staff)
    assert_problem(r, 403, "insufficient_role")


async def test_exports_and_dashboard(market: Market) -> None:  # noqa: F811
    m = market
    await m.order("10")
    await _close_and_settle(m)
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/payouts.csv", headers=m.net.admin)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert sum(int(row["amount_cents"]) for row in rows) == 2500
    r = await m.client.get(
        "/api/v1/invoices.csv", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
    )
    [row] = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
    assert int(row["total_cents"]) == 4000
    assert int(row["producer_cents"]) == 2500

    board = (
        await m.client.get(f"/api/v1/networks/{m.net.network['id']}/dashboard", headers=m.net.admin)
    ).json()
    assert board["revenue_cents"] == 4000
    assert board["producer_share"] == 0.625
    assert board["volume_by_sku"] == [
        {
            "sku_id": m.sku["id"],
            "sku_name": m.sku["name"],
            "name": m.sku["name"],
            "quantity": "10.000",
            "revenue_cents": 4000,
        }
    ]
    assert board["associations_total"] == 2
    assert board["associations_paid"] == 2
    assert 0 <= board["income_gini"] < 1
    r = await m.client.get(
        f"/api/v1/networks/{m.net.network['id']}/dashboard", headers=m.buyer_staff
    )
    assert_problem(r, 404, "network_not_found")

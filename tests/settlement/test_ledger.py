"""The money trail after the close: settlement waits for the goods, returns after it are
credit notes, weighed goods are billed and paid on the same kilos, and what invoices say
producers get is what payouts pay, to the cent. Each test failed before the order line had
one owner (orders/lifecycle.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market, market  # noqa: F401
from tests.utils import assert_problem


def by_buyer(shipments: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["buyer_id"]: s for s in shipments}


PARTS = ("producer_cents", "logistics_cents", "network_cents", "solidarity_fund_cents")


async def _settle(m: Market, cycle_id: str | None = None) -> Any:
    r = await m.client.post(
        f"/api/v1/cycles/{cycle_id or m.cycle['id']}/settle", headers=m.net.admin
    )
    return r


async def _ledger(m: Market, cycle_id: str | None = None) -> dict[str, Any]:
    r = await m.client.get(
        f"/api/v1/cycles/{cycle_id or m.cycle['id']}/ledger", headers=m.net.admin
    )
    assert r.status_code == 200, r.text
    report: dict[str, Any] = r.json()
    return report


async def _invoices(m: Market, cycle_id: str | None = None) -> list[dict[str, Any]]:
    r = await m.client.get(
        "/api/v1/invoices",
        params={"cycle_id": cycle_id or m.cycle["id"], "limit": 200},
        headers=m.net.admin,
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def _payouts(m: Market, cycle_id: str | None = None) -> list[dict[str, Any]]:
    r = await m.client.get(
        f"/api/v1/cycles/{cycle_id or m.cycle['id']}/payouts", headers=m.net.admin
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()
    return items


async def test_settlement_waits_until_every_good_is_in(market: Market) -> None:  # noqa: F811
    m = market
    f = await Floor.start(m)
    await f.order("10")
    await f.close()

    # right after the close: nothing received, nothing packed
    r = await _settle(m)
    body = assert_problem(r, 409, "cycle_not_ready")
    rules = sorted(e["rule"] for e in body["errors"])
    assert rules == ["receipt_missing", "receipt_missing", "shipments_not_built"]
    assert {e["delivery_order_id"] for e in body["errors"] if "delivery_order_id" in e} == {
        d["id"] for d in f.delivery_orders.values()
    }
    # the refused settle changed nothing: the centre still receives and packs
    await f.receive_all()
    r = await _settle(m)
    body = assert_problem(r, 409, "cycle_not_ready")
    assert [e["rule"] for e in body["errors"]] == ["shipments_not_built"]
    [shipment] = await f.build()
    r = await _settle(m)
    body = assert_problem(r, 409, "cycle_not_ready")
    [error] = body["errors"]
    assert (error["rule"], error["shipment_id"]) == ("shipment_not_delivered", shipment["id"])
    assert m.buyer["name"] in error["detail"]

    await f.deliver_all([shipment])
    r = await _settle(m)
    assert r.status_code == 200, r.text
    assert r.json()["ledger"]["differences"] == []
    assert len(r.json()["ledger"]["checked"]) >= 8


async def test_a_failed_shipment_is_neither_billed_nor_paid(market: Market) -> None:  # noqa: F811
    m = market
    f = await Floor.start(m)
    other, other_staff = await f.buyer("Hotel Rodelu")
    kept = await f.order("6")
    lost = await f.order("4", buyer=other, headers=other_staff)
    await f.close()
    await f.receive_all()
    shipments = by_buyer(await f.build())
    r = await m.client.post(
        f"/api/v1/shipments/{shipments[other['id']]['id']}/fail",
        json={"reason": "el camión no llegó: vía Latacunga-Pujilí cerrada"},
        headers=f.staff,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["failure_reason"]) == (
        "failed",
        "el camión no llegó: vía Latacunga-Pujilí cerrada",
    )
    r = await m.client.post(
        f"/api/v1/shipments/{shipments[other['id']]['id']}/deliver",
        json={"received_by": "nadie"},
        headers=f.staff,
    )
    assert_problem(r, 409, "shipment_failed")
    await f.deliver_all([shipments[m.buyer["id"]]])
    r = await _settle(m)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["invoices"], result["invoiced_cents"]) == (1, 6 * 400)
    assert result["paid_out_cents"] == 6 * 250
    assert (await f.get_order(lost["id"]))["status"] == "not_delivered"
    assert [i["order_id"] for i in await _invoices(m)] == [kept["id"]]
    assert result["ledger"]["differences"] == []


async def test_a_return_after_settlement_is_a_credit_note(market: Market) -> None:  # noqa: F811
    m = market
    f = await Floor.start(m)
    order = await f.order("10")
    await f.close()
    await f.receive_all()
    [shipment] = await f.build()
    await f.deliver_all([shipment])
    assert (await _settle(m)).status_code == 200

    # the buyer finds 3 spoiled cheeses the day after: no more returns on the shipment
    r = await m.client.post(
        f"/api/v1/shipments/{shipment['id']}/deliver",
        json={
            "received_by": "Miche",
            "returns": [{"sku_id": m.sku["id"], "quantity": "3", "reason": "moho"}],
        },
        headers=f.staff,
    )
    assert_problem(r, 409, "cycle_settled")
    [invoice] = await _invoices(m)
    assert invoice["total_cents"] == 10 * 400

    # but a credit note on the invoice
    r = await m.client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": "3", "reason": "moho"}]},
        headers=m.net.admin,
    )
    assert r.status_code == 201, r.text
    note = r.json()
    assert note["number"].startswith("NC-")
    assert note["number"].endswith("-000001")
    assert note["total_cents"] == 3 * 400
    assert sum(note["price_breakdown"][p] for p in PARTS) == note["total_cents"]
    assert note["refund_status"] == "not_required"  # paid by invoice: the buyer pays less
    r = await m.client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": "8", "reason": "moho"}]},
        headers=m.net.admin,
    )
    assert_problem(r, 409, "invoice_not_creditable")
    r = await m.client.post(
        f"/api/v1/invoices/{invoice['id']}/credit-notes",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": "1", "reason": "moho"}]},
        headers=m.buyer_staff,
    )
    assert_problem(r, 404, "invoice_not_found")
    [invoice] = await _invoices(m)
    assert (invoice["credited_cents"], invoice["credit_notes"]) == (1200, [note["number"]])
    assert invoice["lines"][0]["credited_quantity"] == "3.000"
    line = (await f.get_order(order["id"]))["lines"][0]
    assert (line["billed_quantity"], line["credited_quantity"]) == ("10.000", "3.000")
    assert (await _ledger(m))["differences"] == []

    # the associations' share comes off their next payout, shown as an adjustment
    next_cycle = await m.new_cycle()
    m.cycle = next_cycle
    await m.offer(next_cycle["id"], m.net.association["id"], "30", m.net.association_staff)
    await m.offer(next_cycle["id"], m.second["id"], "20", m.second_staff)
    await f.order("20")
    await f.through_delivery()
    r = await _settle(m)
    assert r.status_code == 200, r.text
    payouts = await _payouts(m)
    adjustments = [a for p in payouts for a in p["adjustments"]]
    assert sum(a["amount_cents"] for a in adjustments) == -3 * 250
    assert {a["credit_note_id"] for a in adjustments} == {note["id"]}
    for payout in payouts:
        assert payout["amount_cents"] == payout["gross_cents"] + payout["adjustments_cents"]
        assert payout["gross_cents"] == sum(x["amount_cents"] for x in payout["lines"])
    assert sum(p["gross_cents"] for p in payouts) == 20 * 250
    assert (await _ledger(m))["differences"] == []
    r = await m.client.get(f"/api/v1/networks/{m.net.network['id']}/dashboard", headers=m.net.admin)
    assert r.json()["revenue_cents"] == (10 - 3 + 20) * 400  # net of the credit note


async def test_producer_shares_on_invoices_are_what_payouts_pay(
    market: Market,  # noqa: F811
) -> None:
    """Prices and kilos that do not divide evenly: invoice parts are split once, and the
    same split pays the associations."""
    m = market
    net_ = m.net
    sku = await net_.sku(
        name="Papa chola por kilo",
        category="dairy",
        unit="kg",
        pack_size="0.5",
        unit_weight_kg=None,
        producer_price_cents=251,
        solidarity_fund_bps=333,
        tiers=[{"min_quantity": "0", "unit_price_cents": 399}],
    )
    for association_id, headers in (
        (net_.association["id"], net_.association_staff),
        (m.second["id"], m.second_staff),
    ):
        sheet = await net_.sheet(
            association_id=association_id, headers=headers, name="Papa chola", unit="kg"
        )
        assert (await net_.approve(sku["id"], sheet["id"])).status_code == 201
        r = await m.client.post(
            f"/api/v1/cycles/{m.cycle['id']}/offers",
            json={"sku_id": sku["id"], "association_id": association_id, "quantity": "13.5"},
            headers=headers,
        )
        assert r.status_code == 201, r.text
    f = await Floor.start(m)
    for n, quantity in enumerate(("1.5", "2.5", "0.5", "3.5", "4.5", "1.5", "2.5")):
        buyer, staff = await f.buyer(f"Restaurante {n}")
        r = await m.order(
            lines=[{"sku_id": sku["id"], "quantity": quantity}], buyer_id=buyer["id"], headers=staff
        )
        assert r.status_code == 201, r.text
    await f.close()
    for association_id, delivery in f.delivery_orders.items():
        [line] = delivery["lines"]
        await f.received(association_id, line["quantity"], sku_id=sku["id"])
    await f.deliver_all()
    r = await _settle(m)
    assert r.status_code == 200, r.text
    invoices = await _invoices(m)
    payouts = await _payouts(m)
    producer_on_invoices = sum(i["price_breakdown"]["producer_cents"] for i in invoices)
    assert producer_on_invoices == sum(p["amount_cents"] for p in payouts)
    assert r.json()["ledger"]["differences"] == []
    for invoice in invoices:
        for line in invoice["lines"]:
            assert sum(line["price_breakdown"][p] for p in PARTS) == line["amount_cents"]


async def test_weighed_goods_are_billed_and_paid_on_the_same_kilos(
    market: Market,  # noqa: F811
) -> None:
    m = market
    f = await Floor.start(m)
    net_ = m.net
    sku = await net_.sku(
        name="Queso de hoja por kilo", unit="kg", pack_size="1", unit_weight_kg=None
    )
    product = await net_.sheet(
        name="Queso de hoja de Mulaló", unit="kg", pack_size="1.000", variable_weight=True
    )
    assert (await net_.approve(sku["id"], product["id"])).status_code == 201
    r = await m.client.post(
        f"/api/v1/cycles/{m.cycle['id']}/offers",
        json={"sku_id": sku["id"], "association_id": f.first, "quantity": "20"},
        headers=net_.association_staff,
    )
    assert r.status_code == 201, r.text
    order = (await m.order(lines=[{"sku_id": sku["id"], "quantity": "17"}])).json()
    await f.close()
    await f.received(f.first, "17", sku_id=sku["id"], weight_kg="17.240", lot_code="HOJA-17")
    [shipment] = await f.build()
    # one of the 17 pieces comes back: the buyer keeps 16 of the weighed 17.240 kg
    r = await m.client.post(
        f"/api/v1/shipments/{shipment['id']}/deliver",
        json={
            "received_by": "Cocina",
            "returns": [{"sku_id": sku["id"], "quantity": "1", "reason": "mal cortado"}],
        },
        headers=f.staff,
    )
    assert r.status_code == 200, r.text
    r = await _settle(m)
    assert r.status_code == 200, r.text
    billed = Decimal("17.240") * 16 / 17
    expected = billed.quantize(Decimal("0.001"))
    [invoice] = await _invoices(m)
    [line] = invoice["lines"]
    assert (line["quantity"], line["nominal_quantity"], line["weighed"]) == (
        str(expected),
        "16.000",
        True,
    )
    assert (await f.get_order(order["id"]))["lines"][0]["billed_quantity"] == str(expected)
    [payout] = [p for p in await _payouts(m) if p["association_id"] == f.first]
    [paid] = [x for x in payout["lines"] if x["sku_id"] == sku["id"]]
    # the association is paid on the weighed kilos the buyer kept, not the nominal 17
    assert (paid["quantity"], paid["nominal_quantity"]) == (str(expected), "16.000")
    assert paid["amount_cents"] == line["price_breakdown"]["producer_cents"]
    assert (await _ledger(m))["differences"] == []


async def test_an_order_tells_its_history(market: Market) -> None:  # noqa: F811
    m = market
    f = await Floor.start(m)
    order = await f.order("8")
    r = await m.client.patch(
        f"/api/v1/orders/{order['id']}",
        json={"lines": [{"sku_id": m.sku["id"], "quantity": "10"}]},
        headers=m.buyer_staff,
    )
    assert r.status_code == 200, r.text
    await f.through_delivery()
    assert (await _settle(m)).status_code == 200
    r = await m.client.get(f"/api/v1/orders/{order['id']}/events", headers=m.buyer_staff)
    assert r.status_code == 200, r.text
    events = r.json()
    assert [e["type"] for e in events] == [
        "order.placed",
        "order.changed",
        "order.confirmed",
        "order.packed",
        "order.delivered",
        "order.billed",
    ]
    placed, changed = events[0], events[1]
    assert placed["actor"]["full_name"]
    assert placed["actor"]["user_id"]
    assert changed["data"]["lines"] == {m.sku["id"]: "10.000"}
    assert events[2]["actor"] is None  # the close did it
    assert events[-1]["data"]["number"]
    r = await m.client.get(f"/api/v1/orders/{order['id']}/events", headers=m.net.admin)
    assert r.status_code == 200
    _, stranger = await m.api.member(
        (await m.api.organization("buyer", name="Otro restaurante"))["id"], role="staff"
    )
    r = await m.client.get(f"/api/v1/orders/{order['id']}/events", headers=stranger)
    assert_problem(r, 404, "order_not_found")

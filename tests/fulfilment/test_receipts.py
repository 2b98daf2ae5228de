"""Goods receipts: partial and repeated, lots, temperatures, reasons, who may see them."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from tests.fulfilment.helpers import Floor
from tests.utils import assert_problem


async def test_partial_and_repeated_receipts_add_up(floor: Floor) -> None:
    f = floor
    await f.order("10")
    await f.close()
    wanted = f.allocated(f.first)
    first = await f.received(f.first, wanted - 4, lot_code="MUL-001")
    assert first["lines"][0]["lot_code"] == "MUL-001"
    assert first["association_id"] == f.first
    view = await f.delivery_order(f.first)
    assert view["status"] == "open"
    [line] = view["lines"]
    assert Decimal(line["accepted_quantity"]) == wanted - 4
    assert Decimal(line["outstanding_quantity"]) == 4

    await f.received(f.first, "3", rejected="1", reason="envase roto", lot_code="MUL-002")
    view = await f.delivery_order(f.first)
    assert view["status"] == "received"
    [line] = view["lines"]
    assert Decimal(line["accepted_quantity"]) == wanted - 1
    assert line["rejected_quantity"] == "1.000"
    assert line["outstanding_quantity"] == "0.000"
    assert line["supplied_quantity"] is None
    assert [r["lines"][0]["lot_code"] for r in view["receipts"]] == ["MUL-001", "MUL-002"]
    assert view["receipts"][1]["lines"][0]["reason"] == "envase roto"


async def test_warm_chilled_goods_are_flagged_not_refused(floor: Floor) -> None:
    f = floor
    await f.order("10")
    await f.close()
    warm = await f.received(f.first, "2", lot_code="TIBIO-1", temperature_c="9.5")
    assert warm["temperature_alert"] is True
    assert warm["lines"][0]["temperature_alert"] is True
    assert warm["lines"][0]["temperature_c"] == 9.5
    cold = await f.received(f.first, "2", lot_code="FRIO-1", temperature_c=4)
    assert cold["temperature_alert"] is False
    r = await f.client.get("/api/v1/lots/TIBIO-1", headers=f.staff)
    assert r.json()["temperature_alert"] is True


async def test_receipt_errors(floor: Floor) -> None:
    f = floor
    await f.order("10")
    await f.close()
    body = assert_problem(
        await f.receive(f.first, "1", rejected="2"), 422, "rejection_reason_required"
    )
    assert body["errors"][0]["field"] == "lines[0].reason"
    assert_problem(await f.receive(f.first, "0"), 422, "invalid_receipt")
    assert_problem(await f.receive(f.first, "1", sku_id="no-such-sku"), 422, "invalid_receipt")
    assert_problem(await f.receive(f.first, "1", lot_code="bad code!"), 422, "validation_error")
    assert_problem(await f.receive(f.first, "1", temperature_c="99"), 422, "validation_error")
    await f.received(f.first, "1", lot_code="UNICO-1")
    assert_problem(await f.receive(f.second, "1", lot_code="UNICO-1"), 409, "lot_code_taken")
    # two lines with one code in one receipt
    line = {"sku_id": f.m.sku["id"], "accepted_quantity": "1", "lot_code": "DOS-1"}
    r = await f.client.post(
        f"/api/v1/delivery-orders/{f.delivery_orders[f.first]['id']}/receipts",
        json={"lines": [line, line]},
        headers=f.staff,
    )
    assert_problem(r, 422, "invalid_receipt")
    # nothing of the failed attempts was stored
    view = await f.delivery_order(f.first)
    assert [r["lines"][0]["lot_code"] for r in view["receipts"]] == ["UNICO-1"]


async def test_who_sees_and_receives_delivery_orders(floor: Floor) -> None:
    f = floor
    await f.order("10")
    await f.close()
    first_id = f.delivery_orders[f.first]["id"]
    second_id = f.delivery_orders[f.second]["id"]
    # another centre's staff: nothing exists
    r = await f.client.get(f"/api/v1/delivery-orders/{first_id}", headers=f.other_centre_staff)
    assert_problem(r, 404, "delivery_order_not_found")
    r = await f.receive(f.first, "1", headers=f.other_centre_staff)
    assert_problem(r, 404, "delivery_order_not_found")
    # an association sees its own delivery order, not the other's, and cannot receive
    r = await f.client.get(f"/api/v1/delivery-orders/{first_id}", headers=f.m.net.association_staff)
    assert r.status_code == 200
    r = await f.client.get(
        f"/api/v1/delivery-orders/{second_id}", headers=f.m.net.association_staff
    )
    assert_problem(r, 404, "delivery_order_not_found")
    r = await f.receive(f.first, "1", headers=f.m.net.association_staff)
    assert_problem(r, 403, "centre_staff_required")
    # a buyer sees nothing; the network watches
    r = await f.client.get(f"/api/v1/delivery-orders/{first_id}", headers=f.m.buyer_staff)
    assert_problem(r, 404, "delivery_order_not_found")
    r = await f.client.get(f"/api/v1/delivery-orders/{first_id}", headers=f.m.net.staff)
    assert r.status_code == 200
    r = await f.client.get(f"/api/v1/delivery-orders/{first_id}")
    assert_problem(r, 401, "unauthenticated")
    # the pick list follows the same rule
    r = await f.client.get(
        f"/api/v1/delivery-orders/{second_id}/pick-list.csv", headers=f.m.net.association_staff
    )
    assert_problem(r, 404, "delivery_order_not_found")


async def test_pick_list_csv(floor: Floor) -> None:
    f = floor
    await f.order("10")
    await f.close()
    await f.received(f.first, f.allocated(f.first) - 1, lot_code="PICK-1")
    await f.received(f.first, "1", lot_code="PICK-2")
    await f.build()
    r = await f.client.get(
        f"/api/v1/delivery-orders/{f.delivery_orders[f.first]['id']}/pick-list.csv",
        headers=f.staff,
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [row["lot_code"] for row in rows] == ["PICK-1", "PICK-2"]
    assert {row["buyer"] for row in rows} == {f.m.buyer["name"]}
    assert sum(Decimal(row["pick_quantity"]) for row in rows) == f.allocated(f.first)
    assert rows[0]["sku_name"] == f.m.sku["name"]

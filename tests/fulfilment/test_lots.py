"""Lot traceability: from a code to the association, parish, sheet version and buyers."""

from __future__ import annotations

from decimal import Decimal

from tests.fulfilment.helpers import Floor
from tests.utils import assert_problem


async def test_a_lot_traces_to_its_origin_and_buyers(floor: Floor) -> None:
    f = floor
    other, other_staff = await f.buyer("Café Tiana")
    await f.order("10")
    await f.order("6", buyer=other, headers=other_staff)
    await f.close()
    receipt = await f.received(
        f.second, f.allocated(f.second) + 5, lot_code="PUJ-0042", temperature_c="3.5"
    )
    await f.received(f.first, f.allocated(f.first) - 5, lot_code="MUL-0007")
    shipments = {s["buyer_id"]: s for s in await f.build()}

    r = await f.client.get("/api/v1/lots/PUJ-0042", headers=f.staff)
    assert r.status_code == 200, r.text
    lot = r.json()
    assert lot["lot_code"] == "PUJ-0042"
    assert lot["association_id"] == f.second
    assert lot["association_name"] == "Asociación Nueva Esperanza"
    assert lot["parish"] == "Mulaló"  # the product sheet's origin parish
    assert lot["product_version"] == 1
    assert lot["product_name"] == "Queso fresco de Mulaló"
    assert lot["sku_id"] == f.m.sku["id"]
    assert lot["receipt_id"] == receipt["id"]
    assert lot["temperature_c"] == 3.5
    assert lot["temperature_alert"] is False
    # received first: all of the first buyer's line, then one of the other's
    buyers = {b["buyer_id"]: b for b in lot["buyers"]}
    assert set(buyers) == {f.m.buyer["id"], other["id"]}
    assert sum(Decimal(b["quantity"]) for b in lot["buyers"]) == f.allocated(f.second) + 5
    assert (buyers[f.m.buyer["id"]]["quantity"], buyers[other["id"]]["quantity"]) == (
        "10.000",
        "1.000",
    )
    assert buyers[other["id"]]["buyer_name"] == "Café Tiana"
    assert buyers[other["id"]]["shipment_id"] == shipments[other["id"]]["id"]

    # the producing association and the network see every buyer; a buyer only itself
    for headers in (f.m.second_staff, f.m.net.staff):
        r = await f.client.get("/api/v1/lots/PUJ-0042", headers=headers)
        assert len(r.json()["buyers"]) == 2
    r = await f.client.get("/api/v1/lots/PUJ-0042", headers=other_staff)
    assert [b["buyer_id"] for b in r.json()["buyers"]] == [other["id"]]
    r = await f.client.get("/api/v1/lots/PUJ-0042", headers=f.m.net.association_staff)
    assert r.status_code == 200
    assert r.json()["buyers"] == []

    assert_problem(await f.client.get("/api/v1/lots/NOPE-1", headers=f.staff), 404, "lot_not_found")
    assert_problem(await f.client.get("/api/v1/lots/PUJ-0042"), 401, "unauthenticated")

"""Recording deliveries: proof, returns, delivered and billed quantities, once only."""

from __future__ import annotations

from typing import Any

from tests.fulfilment.helpers import Floor
from tests.utils import assert_problem


async def _packed(f: Floor) -> tuple[dict[str, Any], dict[str, Any]]:
    order = await f.order("10")
    await f.close()
    await f.receive_all()
    [shipment] = await f.build()
    return order, shipment


async def test_delivery_with_returns(floor: Floor) -> None:
    f = floor
    order, shipment = await _packed(f)
    sku_id = f.m.sku["id"]
    r = await f.client.post(
        f"/api/v1/shipments/{shipment['id']}/deliver",
        json={
            "received_by": "Rosa Chiluisa (jefa de cocina)",
            "returns": [{"sku_id": sku_id, "quantity": "2", "reason": "queso golpeado"}],
        },
        headers=f.staff,
    )
    assert r.status_code == 200, r.text
    done = r.json()
    assert done["status"] == "delivered"
    assert done["received_by"] == "Rosa Chiluisa (jefa de cocina)"
    assert done["delivered_at"]
    [line] = done["lines"]
    assert (line["quantity"], line["returned_quantity"], line["delivered_quantity"]) == (
        "10.000",
        "2.000",
        "8.000",
    )
    assert line["billed_quantity"] == "8.000"
    assert done["returns"] == [
        {
            "sku_id": sku_id,
            "sku_name": f.m.sku["name"],
            "quantity": "2.000",
            "reason": "queso golpeado",
        }
    ]

    placed = await f.get_order(order["id"], headers=f.m.buyer_staff)
    assert placed["status"] == "delivered"
    assert placed["lines"][0]["delivered_quantity"] == "8.000"
    assert placed["final_total_cents"] == 8 * 400

    # the buyer reads its proof of delivery
    r = await f.client.get(f"/api/v1/shipments/{shipment['id']}", headers=f.m.buyer_staff)
    assert r.json() == done
    # once only, and no rebuilding after a delivery
    r = await f.client.post(
        f"/api/v1/shipments/{shipment['id']}/deliver", json={"received_by": "X"}, headers=f.staff
    )
    assert_problem(r, 409, "shipment_already_delivered")
    r = await f.client.post(f"/api/v1/cycles/{f.m.cycle['id']}/shipments", headers=f.staff)
    assert_problem(r, 409, "shipments_delivered")


async def test_delivery_errors_and_rights(floor: Floor) -> None:
    f = floor
    _, shipment = await _packed(f)
    url = f"/api/v1/shipments/{shipment['id']}/deliver"
    sku_id = f.m.sku["id"]
    body: dict[str, Any] = {"received_by": "Rosa"}
    r = await f.client.post(url, json=body, headers=f.m.buyer_staff)
    assert_problem(r, 403, "centre_staff_required")
    assert_problem(
        await f.client.post(url, json=body, headers=f.other_centre_staff), 404, "shipment_not_found"
    )
    too_many = {**body, "returns": [{"sku_id": sku_id, "quantity": "11", "reason": "x"}]}
    assert_problem(await f.client.post(url, json=too_many, headers=f.staff), 422, "invalid_returns")
    unknown = {**body, "returns": [{"sku_id": "nope", "quantity": "1", "reason": "x"}]}
    assert_problem(await f.client.post(url, json=unknown, headers=f.staff), 422, "invalid_returns")
    no_reason = {**body, "returns": [{"sku_id": sku_id, "quantity": "1"}]}
    assert_problem(
        await f.client.post(url, json=no_reason, headers=f.staff), 422, "validation_error"
    )
    r = await f.client.get(f"/api/v1/shipments/{shipment['id']}", headers=f.staff)
    assert r.json()["status"] == "packed"
    r = await f.client.post(url, json=body, headers=f.staff)
    assert r.status_code == 200
    assert r.json()["lines"][0]["delivered_quantity"] == "10.000"

"""Building shipments: shortfalls covered from surplus, then shared; lots, weights, cold
chain, variable weights, rebuilding, documents and who sees what."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.fulfilment.consolidation import LotStock, Need, Supplier, cover_shortfalls, pick_lots
from tests.fulfilment.helpers import Floor
from tests.utils import assert_problem


def by_buyer(shipments: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["buyer_id"]: s for s in shipments}


async def _two_buyers(f: Floor) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Orders of 10 (the market's buyer) and 6 (a second buyer), allocated 10 and 6."""
    other, other_staff = await f.buyer("Restaurante La Mama Negra")
    first = await f.order("10")
    second = await f.order("6", buyer=other, headers=other_staff)
    await f.close()
    assert (f.allocated(f.first), f.allocated(f.second)) == (10, 6)
    return other, first, second


async def test_a_shortfall_is_covered_from_another_suppliers_surplus(floor: Floor) -> None:
    f = floor
    other, first, second = await _two_buyers(f)
    await f.received(f.first, "8", lot_code="F-1")  # two short
    await f.received(f.second, "9", lot_code="S-1")  # three over
    shipments = by_buyer(await f.build())

    mine, theirs = shipments[f.m.buyer["id"]], shipments[other["id"]]
    assert [(line["quantity"], line["lot_codes"]) for line in mine["lines"]] == [
        ("10.000", ["F-1", "S-1"])
    ]
    assert [(line["quantity"], line["lot_codes"]) for line in theirs["lines"]] == [
        ("6.000", ["S-1"])
    ]
    # nobody was shorted: the confirmed quantities stay
    assert (await f.get_order(first["id"]))["lines"][0]["confirmed_quantity"] == "10.000"
    assert (await f.get_order(second["id"]))["lines"][0]["confirmed_quantity"] == "6.000"
    # the second association supplied its own 6 and 2 of the first's shortfall
    [line] = (await f.delivery_order(f.second))["lines"]
    assert (line["accepted_quantity"], line["supplied_quantity"]) == ("9.000", "8.000")
    [line] = (await f.delivery_order(f.first))["lines"]
    assert (line["accepted_quantity"], line["supplied_quantity"]) == ("8.000", "8.000")
    # weights: 0.5 kg a unit; cheese is chilled
    assert (mine["weight_kg"], theirs["weight_kg"]) == ("5.000", "3.000")
    assert mine["chilled"]
    assert theirs["chilled"]
    assert mine["status"] == "packed"
    assert mine["lines"][0]["billed_quantity"] == "10.000"


async def test_a_real_shortfall_is_shared_among_buyers(floor: Floor) -> None:
    f = floor
    other, first, second = await _two_buyers(f)
    await f.received(f.first, "7", lot_code="F-1")
    await f.received(f.second, "6", lot_code="S-1")
    built = by_buyer(await f.build())
    # 3 missing of 16: quotas 1.875 and 1.125, the largest remainder loses one more
    assert built[f.m.buyer["id"]]["lines"][0]["quantity"] == "8.000"
    assert built[other["id"]]["lines"][0]["quantity"] == "5.000"
    mine = await f.get_order(first["id"])
    theirs = await f.get_order(second["id"])
    assert mine["lines"][0]["confirmed_quantity"] == "8.000"
    assert theirs["lines"][0]["confirmed_quantity"] == "5.000"
    assert mine["final_total_cents"] == 8 * 400  # never charged for what did not come
    assert theirs["final_total_cents"] == 5 * 400
    [line] = (await f.delivery_order(f.first))["lines"]
    assert line["supplied_quantity"] == "7.000"

    # building again gives the same answer, same ids
    again = by_buyer(await f.build())
    for buyer_id, shipment in built.items():
        assert {**again[buyer_id], "built_at": None} == {**shipment, "built_at": None}
    # late goods arrive: building again starts from what the close confirmed
    await f.received(f.first, "3", lot_code="F-2")
    later = by_buyer(await f.build())
    assert later[f.m.buyer["id"]]["lines"][0]["quantity"] == "10.000"
    assert later[f.m.buyer["id"]]["id"] == built[f.m.buyer["id"]]["id"]
    assert later[other["id"]]["lines"][0]["quantity"] == "6.000"
    assert (await f.get_order(first["id"]))["lines"][0]["confirmed_quantity"] == "10.000"


async def test_nothing_received_cuts_every_line(floor: Floor) -> None:
    f = floor
    first = await f.order("4")
    await f.close()
    [shipment] = await f.build()
    assert shipment["lines"][0]["quantity"] == "0.000"
    assert shipment["weight_kg"] == "0.000"
    assert (await f.get_order(first["id"]))["lines"][0]["confirmed_quantity"] == "0.000"


async def test_variable_weight_goods_are_billed_by_real_weight(floor: Floor) -> None:
    f = floor
    net = f.m.net
    sku = await net.sku(
        name="Queso de hoja por kilo", unit="kg", pack_size="1", unit_weight_kg=None
    )
    product = await net.sheet(
        name="Queso de hoja de Mulaló", unit="kg", pack_size="1.000", variable_weight=True
    )
    assert (await net.approve(sku["id"], product["id"])).status_code == 201
    cycle_id = f.m.cycle["id"]
    r = await f.client.post(
        f"/api/v1/cycles/{cycle_id}/offers",
        json={"sku_id": sku["id"], "association_id": f.first, "quantity": "20"},
        headers=net.association_staff,
    )
    assert r.status_code == 201, r.text
    other, other_staff = await f.buyer("Hotel Rodelu")
    lines = [{"sku_id": sku["id"], "quantity": "6"}]
    mine = (await f.m.order(lines=lines)).json()
    lines = [{"sku_id": sku["id"], "quantity": "4"}]
    r = await f.m.order(lines=lines, buyer_id=other["id"], headers=other_staff)
    assert r.status_code == 201, r.text
    await f.close()
    r = await f.receive(f.first, "10", sku_id=sku["id"])
    assert_problem(r, 422, "weight_required")
    await f.received(f.first, "10", sku_id=sku["id"], weight_kg="10.400", lot_code="HOJA-1")
    built = by_buyer(await f.build())
    [line] = built[f.m.buyer["id"]]["lines"]
    assert (line["quantity"], line["weight_kg"], line["billed_quantity"]) == (
        "6.000",
        "6.240",
        "6.240",
    )
    [line] = built[other["id"]]["lines"]
    assert (line["weight_kg"], line["billed_quantity"]) == ("4.160", "4.160")
    order = await f.get_order(mine["id"])
    assert order["lines"][0]["confirmed_quantity"] == "6.000"
    price = order["lines"][0]["final_unit_price_cents"]
    assert order["final_total_cents"] == round(Decimal("6.24") * price)


async def test_who_builds_and_sees_shipments(floor: Floor) -> None:
    f = floor
    other, _, _ = await _two_buyers(f)
    cycle_id = f.m.cycle["id"]
    url = f"/api/v1/cycles/{cycle_id}/shipments"
    assert_problem(await f.client.post(url, headers=f.m.buyer_staff), 403, "centre_staff_required")
    r = await f.client.post(url, headers=f.other_centre_staff)
    assert_problem(r, 403, "centre_staff_required")
    assert_problem(await f.client.post(url, headers=f.m.net.admin), 403, "centre_staff_required")
    await f.receive_all()
    shipments = by_buyer(await f.build())
    theirs = shipments[other["id"]]["id"]

    r = await f.client.get(url, headers=f.m.buyer_staff)
    assert [s["buyer_id"] for s in r.json()["items"]] == [f.m.buyer["id"]]
    r = await f.client.get(url, headers=f.other_centre_staff)
    assert r.json()["items"] == []
    for headers in (f.staff, f.m.net.staff):
        r = await f.client.get(url, headers=headers)
        assert len(r.json()["items"]) == 2
    r = await f.client.get(url, params={"limit": 1}, headers=f.staff)
    assert len(r.json()["items"]) == 1
    assert r.json()["next_cursor"]

    r = await f.client.get(f"/api/v1/shipments/{theirs}", headers=f.m.buyer_staff)
    assert_problem(r, 404, "shipment_not_found")
    r = await f.client.get(f"/api/v1/shipments/{theirs}", headers=f.other_centre_staff)
    assert_problem(r, 404, "shipment_not_found")
    r = await f.client.get(f"/api/v1/shipments/{theirs}/labels.pdf", headers=f.m.buyer_staff)
    assert_problem(r, 404, "shipment_not_found")
    mine = shipments[f.m.buyer["id"]]
    r = await f.client.get(f"/api/v1/shipments/{mine['id']}", headers=f.m.buyer_staff)
    assert r.json() == mine


async def test_shipments_wait_for_the_close(floor: Floor) -> None:
    f = floor
    r = await f.client.post(f"/api/v1/cycles/{f.m.cycle['id']}/shipments", headers=f.staff)
    assert_problem(r, 409, "cycle_not_closed")


async def test_packing_list_and_labels(floor: Floor) -> None:
    f = floor
    await f.order("10")
    await f.close()
    await f.received(f.first, f.allocated(f.first), lot_code="ETQ-1")
    [shipment] = await f.build()
    for doc in ("packing-list.pdf", "labels.pdf"):
        for headers in (f.staff, f.m.buyer_staff):
            r = await f.client.get(f"/api/v1/shipments/{shipment['id']}/{doc}", headers=headers)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "application/pdf"
            assert r.content.startswith(b"%PDF")
            assert len(r.content) > 1000


# --- the pure rules ------------------------------------------------------------------------


def test_cover_shortfalls_own_allocation_first_then_surplus() -> None:
    supply = cover_shortfalls(
        [
            Supplier("a", Decimal(10), Decimal(6)),
            Supplier("b", Decimal(6), Decimal(9)),
            Supplier("c", Decimal(4), Decimal(7)),
        ],
        demand=Decimal(20),
        step=Decimal(1),
    )
    # 4 missing from a; surplus 3 (b) and 3 (c) share it 2 and 2
    assert [(s.association_id, s.supplied) for s in supply.suppliers] == [
        ("a", 6),
        ("b", 8),
        ("c", 6),
    ]
    assert supply.shortfall == 0


@given(
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 60)), min_size=1, max_size=5),
    st.sampled_from([Decimal(1), Decimal("0.5"), Decimal(3)]),
)
def test_cover_shortfalls_properties(rows: list[tuple[int, int]], step: Decimal) -> None:
    suppliers = [
        Supplier(f"a{i}", Decimal(alloc) * step, Decimal(acc) / 2)
        for i, (alloc, acc) in enumerate(rows)
    ]
    demand = sum((s.allocated for s in suppliers), Decimal(0))
    supply = cover_shortfalls(suppliers, demand=demand, step=step)
    supplied = sum((s.supplied for s in supply.suppliers), Decimal(0))
    assert supplied == supply.deliverable == demand - supply.shortfall
    assert supply.shortfall % step == 0
    assert supply.shortfall >= 0
    for s in supply.suppliers:
        assert 0 <= s.supplied <= s.accepted
        assert s.own <= s.allocated
    accepted = sum((s.accepted for s in suppliers), Decimal(0))
    assert supply.deliverable > accepted - step or supply.deliverable == demand


def test_pick_lots_first_in_first_out() -> None:
    lots = [
        LotStock("l2", "b", Decimal(5), rank=2),
        LotStock("l1", "a", Decimal(4), rank=1),
        LotStock("l3", "a", Decimal(9), rank=3),
    ]
    picks = pick_lots(
        lots, {"a": Decimal(6), "b": Decimal(5)}, [Need("x", Decimal(7)), Need("y", Decimal(4))]
    )
    assert [(p.item_id, p.lot_id, p.quantity) for p in picks] == [
        ("x", "l1", 4),
        ("x", "l2", 3),
        ("y", "l2", 2),
        ("y", "l3", 2),
    ]
    with pytest.raises(ValueError, match="add up"):
        pick_lots(lots, {"a": Decimal(6)}, [Need("x", Decimal(7))])

"""The demo cycle in names (issue 12): every read model it answered shows, beside its ids,
the names people think in; a driver's stops show whom to see, where and how to call."""

from __future__ import annotations

import pytest

from app.core.config import Settings
from app.demo import data
from app.demo.runner import DemoResult, run_demo
from tests.test_demo import demo_settings  # noqa: F401 - the demo's scratch database


@pytest.mark.slow
async def test_the_demo_cycle_shows_names(demo_settings: Settings) -> None:  # noqa: F811
    result: DemoResult = await run_demo(demo_settings)
    run, w = result.run, result.world
    assert result.failed_steps == []
    sku_names = {s["id"]: s["name"] for s in w.skus.values()}
    buyer_names = {b["id"]: name for name, b in w.buyers.items()}
    association_names = {a["id"]: name for name, a in w.associations.items()}
    parishes = {a["id"]: a["parish"] for a in w.associations.values()}
    centre = w.centre["name"]

    assert run.cycle["network_name"] == w.network["name"]
    assert run.cycle["collection_centre_name"] == centre
    for offer in run.offers:
        assert offer["sku_name"] == sku_names[offer["sku_id"]]
        assert offer["association_name"] == association_names[offer["association_id"]]
    for order in run.orders + run.final_orders:
        assert order["buyer_name"] == buyer_names[order["buyer_id"]]
        assert all(line["sku_name"] == sku_names[line["sku_id"]] for line in order["lines"])
    assert all(s["sku_name"] == sku_names[s["sku_id"]] for s in run.close["skus"])
    for a in run.allocations:
        assert (a["association_name"], a["parish"]) == (
            association_names[a["association_id"]],
            parishes[a["association_id"]],
        )
        assert a["sku_name"] == sku_names[a["sku_id"]]
        assert a["product_name"]
    for d in run.delivery_orders:
        assert d["association_name"] == association_names[d["association_id"]]
        assert d["collection_centre_name"] == centre
        assert all(line["sku_name"] and line["product_name"] for line in d["lines"])
    for receipt in run.receipts:
        assert receipt["association_name"] == association_names[receipt["association_id"]]
        assert all(line["sku_name"] == sku_names[line["sku_id"]] for line in receipt["lines"])
    for s in run.shipments + run.deliveries:
        assert s["buyer_name"] == buyer_names[s["buyer_id"]]
        assert s["collection_centre_name"] == centre

    contacts = {b.name: data.BUYER_CONTACTS[b.key] for b in data.BUYERS}
    stops = [stop for route in run.routes["routes"] for stop in route["stops"]]
    assert {stop["buyer_name"] for stop in stops} == set(contacts)
    for stop in stops:
        assert (stop["address"], stop["phone"], stop["delivery_notes"]) == contacts[
            stop["buyer_name"]
        ]
        assert stop["parish"]

    for invoice in run.invoices:
        assert invoice["buyer_name"] == buyer_names[invoice["buyer_id"]]
        assert invoice["network_name"] == w.network["name"]
        assert all(line["sku_name"] == sku_names[line["sku_id"]] for line in invoice["lines"])
    for payout in run.payouts:
        assert payout["association_name"] == association_names[payout["association_id"]]
        assert payout["parish"] == parishes[payout["association_id"]]
        assert all(line["sku_name"] and line["product_name"] for line in payout["lines"])
    assert run.dashboard["network_name"] == w.network["name"]
    assert all(v["sku_name"] == sku_names[v["sku_id"]] for v in run.dashboard["volume_by_sku"])

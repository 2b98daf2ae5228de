"""Brand SKUs, price tiers, price breakdowns and the catalogue buyers browse."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from tests.brands.conftest import Network
from tests.utils import Api, assert_problem


def parts_sum(b: dict[str, Any]) -> int:
    return int(
        b["producer_cents"] + b["logistics_cents"] + b["network_cents"] + b["solidarity_fund_cents"]
    )


async def test_sku_with_tiers_and_breakdown(net: Network) -> None:
    sku = await net.sku()
    assert sku["current_unit_price_cents"] == 400
    assert [t["min_quantity"] for t in sku["tiers"]] == ["0.000", "100.000", "500.000"]
    b = sku["price_breakdown"]
    assert b["producer_cents"] == 250
    assert b["solidarity_fund_cents"] == 6  # 1.5 % of 400
    assert parts_sum(b) == b["unit_price_cents"] == 400
    assert sku["currency"] == "USD"
    r = await net.client.get(
        f"/api/v1/skus/{sku['id']}/price-breakdowns", headers=net.association_staff
    )
    breakdowns = r.json()
    assert [x["unit_price_cents"] for x in breakdowns] == [400, 360, 330]
    for x in breakdowns:
        assert parts_sum(x) == x["unit_price_cents"]
        assert x["producer_cents"] == 250  # discounts never come out of the producer price


async def test_tiers_below_the_producer_price_are_refused(net: Network) -> None:
    url = f"/api/v1/brands/{net.brand['id']}/skus"
    body = {
        "name": "Huevos",
        "category": "eggs",
        "unit": "dozen",
        "pack_size": "1",
        "unit_weight_kg": "0.75",
        "producer_price_cents": 300,
        "tiers": [
            {"min_quantity": "0", "unit_price_cents": 350},
            {"min_quantity": "50", "unit_price_cents": 290},
        ],
    }
    r = await net.client.post(url, json=body, headers=net.admin)
    problem = assert_problem(r, 422, "tier_below_producer_price")
    assert problem["errors"][0]["field"] == "tiers[1].unit_price_cents"

    r = await net.client.post(
        url,
        json={**body, "tiers": [{"min_quantity": "10", "unit_price_cents": 350}]},
        headers=net.admin,
    )
    assert_problem(r, 422, "invalid_tiers")
    sku = await net.sku()
    r = await net.client.patch(
        f"/api/v1/skus/{sku['id']}", json={"producer_price_cents": 380}, headers=net.admin
    )
    assert_problem(r, 422, "tier_below_producer_price")
    r = await net.client.patch(
        f"/api/v1/skus/{sku['id']}",
        json={"tiers": [{"min_quantity": "0", "unit_price_cents": 420}]},
        headers=net.admin,
    )
    assert r.status_code == 200
    assert r.json()["current_unit_price_cents"] == 420


async def test_sku_field_errors(net: Network, api: Api) -> None:
    url = f"/api/v1/brands/{net.brand['id']}/skus"
    base = {
        "name": "Harina de haba",
        "category": "flours",
        "unit": "unit",
        "pack_size": "1",
        "producer_price_cents": 100,
        "tiers": [{"min_quantity": "0", "unit_price_cents": 150}],
    }
    assert_problem(await net.client.post(url, json=base, headers=net.admin), 422, "invalid_sku")
    r = await net.client.post(
        url, json={**base, "unit_weight_kg": "1", "gtin": "7861234567890"}, headers=net.admin
    )
    assert_problem(r, 422, "invalid_gtin")
    r = await net.client.post(
        url, json={**base, "unit": "kg", "category": "nope"}, headers=net.admin
    )
    assert_problem(r, 422, "unknown_category")
    r = await net.client.post(url, json={**base, "unit": "kg"}, headers=net.staff)
    assert_problem(r, 403, "insufficient_role")
    other = await api.organization("network")
    _, other_admin = await api.member(other["id"])
    r = await net.client.post(url, json={**base, "unit": "kg"}, headers=other_admin)
    assert_problem(r, 404, "brand_not_found")


async def test_catalogue_for_buyers(net: Network, api: Api) -> None:
    buyer = await api.organization("buyer")
    _, buyer_staff = await api.member(buyer["id"], role="staff")
    queso = await net.sku()
    huevos = await net.sku(name="Huevos de gallinas felices", category="eggs", unit="dozen")
    product = await net.sheet()
    assert (await net.approve(queso["id"], product["id"])).status_code == 201

    r = await net.client.get("/api/v1/skus", headers=buyer_staff)
    assert r.status_code == 200
    items = {s["id"]: s for s in r.json()["items"]}
    assert set(items) == {queso["id"], huevos["id"]}
    [supplier] = items[queso["id"]]["suppliers"]
    assert supplier["association_name"] == "Asociación Sabores de Mulaló"
    assert supplier["parish"] == "Mulaló"
    assert supplier["eligible"] is True
    assert items[huevos["id"]]["suppliers"] == []

    found = await net.client.get(
        "/api/v1/skus", params={"q": "GALLINAS felices"}, headers=buyer_staff
    )
    assert [s["id"] for s in found.json()["items"]] == [huevos["id"]]
    found = await net.client.get("/api/v1/skus", params={"q": "sabores queso"}, headers=buyer_staff)
    assert [s["id"] for s in found.json()["items"]] == [queso["id"]]
    by_category = await net.client.get(
        "/api/v1/skus", params={"category": "eggs"}, headers=buyer_staff
    )
    assert [s["id"] for s in by_category.json()["items"]] == [huevos["id"]]
    by_brand = await net.client.get(
        "/api/v1/skus", params={"brand_id": net.brand["id"], "limit": 1}, headers=buyer_staff
    )
    assert len(by_brand.json()["items"]) == 1
    assert by_brand.json()["next_cursor"]


async def test_unchanged_list_answers_304(net: Network) -> None:
    await net.sku()
    r = await net.client.get("/api/v1/skus", headers=net.staff)
    etag = r.headers["ETag"]
    again = await net.client.get("/api/v1/skus", headers={**net.staff, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    await net.sku(name="Queso maduro")
    changed = await net.client.get("/api/v1/skus", headers={**net.staff, "If-None-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["ETag"] != etag


async def test_list_runs_a_constant_number_of_statements(net: Network, app: Any) -> None:
    for i in range(12):
        sku = await net.sku(name=f"Queso {i}")
        product = await net.sheet(name=f"Queso {i}")
        assert (await net.approve(sku["id"], product["id"])).status_code == 201

    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    engine = app.state.engine.sync_engine
    counts = []
    for limit in (3, 12):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            r = await net.client.get("/api/v1/skus", params={"limit": limit}, headers=net.staff)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(r.json()["items"]) == limit
        assert all(len(s["suppliers"]) == 1 for s in r.json()["items"])
        counts.append(len(statements))
    assert counts[0] == counts[1], counts


async def test_the_cached_catalogue_follows_every_change(net: Network) -> None:
    """Pages are cached under the catalogue's audit stamp: a change shows at once."""
    sku = await net.sku()
    product = await net.sheet()
    assert (await net.approve(sku["id"], product["id"])).status_code == 201
    first = (await net.client.get("/api/v1/skus", headers=net.staff)).json()
    again = (await net.client.get("/api/v1/skus", headers=net.staff)).json()
    assert again == first
    assert first["items"][0]["suppliers"][0]["eligible"] is True
    r = await net.client.post(
        f"/api/v1/brands/{net.brand['id']}/licenses/{net.license['id']}/suspend",
        json={"reason": "auditoría"},
        headers=net.admin,
    )
    assert r.status_code == 200
    after = (await net.client.get("/api/v1/skus", headers=net.staff)).json()
    assert after["items"][0]["suppliers"][0]["eligible"] is False
    r = await net.client.patch(
        f"/api/v1/skus/{sku['id']}",
        json={"tiers": [{"min_quantity": "0", "unit_price_cents": 450}]},
        headers=net.admin,
    )
    assert r.status_code == 200
    priced = (await net.client.get("/api/v1/skus", headers=net.staff)).json()
    assert priced["items"][0]["current_unit_price_cents"] == 450

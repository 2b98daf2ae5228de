"""Offers: only approved suppliers, only for themselves, lowered only to what is free."""

from __future__ import annotations

from tests.orders.conftest import Market
from tests.utils import assert_problem


async def test_offers_add_up_in_availability(market: Market) -> None:
    row = await market.availability()
    assert row == {
        "sku_id": market.sku["id"],
        "sku_name": market.sku["name"],
        "offered": "50.000",
        "reserved": "0.000",
        "available": "50.000",
        "unit_price_cents": 400,
    }


async def test_an_association_offers_only_for_itself(market: Market) -> None:
    r = await market.client.post(
        f"/api/v1/cycles/{market.cycle['id']}/offers",
        json={"sku_id": market.sku["id"], "association_id": market.second["id"], "quantity": "5"},
        headers=market.net.association_staff,
    )
    assert_problem(r, 404, "organization_not_found")


async def test_only_approved_suppliers_offer(market: Market) -> None:
    outsider, staff = await market.net.join(name="Asociación sin aprobar")
    r = await market.client.post(
        f"/api/v1/cycles/{market.cycle['id']}/offers",
        json={"sku_id": market.sku["id"], "association_id": outsider["id"], "quantity": "5"},
        headers=staff,
    )
    assert_problem(r, 422, "not_an_approved_supplier")
    # a suspended licence takes an approved supplier out of new offers too
    licence = market.net.license
    await market.client.post(
        f"/api/v1/brands/{market.net.brand['id']}/licenses/{licence['id']}/suspend",
        json={"reason": "auditoría"},
        headers=market.net.admin,
    )
    cycle = await market.new_cycle()
    r = await market.client.post(
        f"/api/v1/cycles/{cycle['id']}/offers",
        json={
            "sku_id": market.sku["id"],
            "association_id": market.net.association["id"],
            "quantity": "5",
        },
        headers=market.net.association_staff,
    )
    assert_problem(r, 422, "not_an_approved_supplier")


async def test_offer_changes(market: Market) -> None:
    offer = market.offers["first"]
    url = f"/api/v1/cycles/{market.cycle['id']}/offers/{offer['id']}"
    r = await market.client.post(
        f"/api/v1/cycles/{market.cycle['id']}/offers",
        json={
            "sku_id": market.sku["id"],
            "association_id": market.net.association["id"],
            "quantity": "5",
        },
        headers=market.net.association_staff,
    )
    assert_problem(r, 409, "offer_exists")
    assert (await market.order("45")).status_code == 201  # 5 left free
    r = await market.client.patch(
        url, json={"quantity": "24"}, headers=market.net.association_staff
    )
    assert_problem(r, 409, "offer_below_reserved")
    r = await market.client.patch(
        url, json={"quantity": "25"}, headers=market.net.association_staff
    )
    assert r.status_code == 200
    assert (await market.availability())["available"] == "0.000"
    r = await market.client.patch(
        url, json={"quantity": "40"}, headers=market.net.association_staff
    )
    assert r.status_code == 200
    assert (await market.availability())["offered"] == "60.000"
    r = await market.client.patch(url, json={"quantity": "41"}, headers=market.second_staff)
    assert_problem(r, 404, "offer_not_found")
    r = await market.client.patch(
        url, json={"quantity": "2.5"}, headers=market.net.association_staff
    )
    assert_problem(r, 422, "not_pack_multiple")


async def test_offers_are_private_to_their_association(market: Market) -> None:
    url = f"/api/v1/cycles/{market.cycle['id']}/offers"
    mine = (await market.client.get(url, headers=market.second_staff)).json()
    assert [o["association_id"] for o in mine] == [market.second["id"]]
    everything = (await market.client.get(url, headers=market.net.admin)).json()
    assert len(everything) == 2

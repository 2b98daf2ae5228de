"""Per-member fairness through the API: the network's floor, a cycle closed with
per_member_equalizing, the season report and the dashboard's what-if, in Spanish by default."""

from __future__ import annotations

from typing import Any

from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market, market  # noqa: F401
from tests.utils import assert_problem, ecuador_ruc


async def _allocations(m: Market) -> dict[str, str]:
    r = await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/allocations", headers=m.net.admin)
    assert r.status_code == 200, r.text
    return {a["association_id"]: a["quantity"] for a in r.json()}


async def test_the_network_sets_its_floor_and_cycles_take_it(market: Market) -> None:  # noqa: F811
    m = market
    url = f"/api/v1/networks/{m.net.network['id']}/allocation-floor"
    assert m.cycle["allocation_floor_percent"] == 50  # the default
    r = await m.client.put(url, json={"allocation_floor_percent": 80}, headers=m.net.admin)
    assert r.status_code == 200, r.text
    assert r.json() == {"network_id": m.net.network["id"], "allocation_floor_percent": 80}
    cycle = await m.new_cycle(allocation_policy="per_member_equalizing")
    assert cycle["allocation_policy"] == "per_member_equalizing"
    assert cycle["allocation_floor_percent"] == 80
    cycle = await m.new_cycle(allocation_policy="per_member_equalizing", allocation_floor_percent=0)
    assert cycle["allocation_floor_percent"] == 0
    org = await m.client.get(f"/api/v1/organizations/{m.net.network['id']}", headers=m.net.admin)
    assert org.json()["allocation_floor_percent"] == 80

    r = await m.client.put(url, json={"allocation_floor_percent": 101}, headers=m.net.admin)
    assert_problem(r, 422, "validation_error")
    r = await m.client.put(url, json={"allocation_floor_percent": 60}, headers=m.net.staff)
    assert_problem(r, 403, "insufficient_role")
    r = await m.client.put(url, json={"allocation_floor_percent": 60}, headers=m.buyer_staff)
    assert_problem(r, 404, "network_not_found")
    r = await m.client.post(
        "/api/v1/organizations",
        json={**_org(), "kind": "buyer", "buyer_type": "restaurant", "allocation_floor_percent": 5},
        headers=await m.api.admin(),
    )
    assert_problem(r, 422, "invalid_organization")


def _org() -> dict[str, Any]:
    return {
        "name": "Restaurante Nuevo",
        "tax_id": ecuador_ruc(),
        "country": "EC",
        "province": "Cotopaxi",
        "canton": "Latacunga",
        "parish": "Mulaló",
        "latitude": -0.78,
        "longitude": -78.58,
    }


async def test_a_cycle_closed_per_member_and_its_what_if(market: Market) -> None:  # noqa: F811
    m = market
    network_id = m.net.network["id"]
    # a third association, big in members, that offered little: per member it is the poorest
    big, big_staff = await m.net.join(
        name="Asociación Runa Kawsay Guangaje", members_total=45, members_women=31
    )
    await m.net.license_for(big["id"])
    sheet = await m.net.sheet(association_id=big["id"], headers=big_staff)
    assert (await m.net.approve(m.sku["id"], sheet["id"])).status_code == 201
    m.cycle = await m.new_cycle(allocation_policy="per_member_equalizing")
    await m.offer(m.cycle["id"], m.net.association["id"], "30", m.net.association_staff)
    await m.offer(m.cycle["id"], m.second["id"], "20", m.second_staff)
    await m.offer(m.cycle["id"], big["id"], "10", big_staff)
    assert (await m.order("12")).status_code == 201

    await (await Floor.start(m)).through_delivery()
    allocated = await _allocations(m)
    # proportional would give 6 / 4 / 2: the floors are 3 / 2 / 1. The two associations
    # without a member count count as the recorded mean (45), as the big one: equal
    # shares per member, 4 each
    assert allocated == {
        m.net.association["id"]: "4.000",
        m.second["id"]: "4.000",
        big["id"]: "4.000",
    }
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text

    report = (
        await m.client.get(f"/api/v1/networks/{network_id}/season-report", headers=m.net.admin)
    ).json()
    assert report["language"] == "es"
    assert report["cycles"] == 1
    assert report["policies_used"] == ["per_member_equalizing"]
    assert report["income_cents"] == 12 * 250
    assert report["members_women_reached"] == 31
    incomes = {a["association_id"]: a["income_cents"] for a in report["associations"]}
    assert incomes == {m.net.association["id"]: 1000, m.second["id"]: 1000, big["id"]: 1000}
    assert report["income_gini"] == 0
    policies = {o["policy"]: o for o in report["what_if"]}
    assert set(policies) == {
        "proportional",
        "equal_share",
        "income_equalizing",
        "per_member_equalizing",
    }
    mine = policies["per_member_equalizing"]
    assert mine["in_use"]
    assert not policies["proportional"]["in_use"]
    assert mine["income_gini_per_member"] == report["income_gini_per_member"]
    assert mine["income_gini_per_member"] <= policies["proportional"]["income_gini_per_member"]
    assert policies["proportional"]["income_gini"] > 0  # 6 / 4 / 2
    assert mine["label"] == "Ingreso igualado por socia, con un piso"
    assert report["summary"].startswith("Por socia")

    english = await m.client.get(
        f"/api/v1/networks/{network_id}/season-report",
        params={"year": int(m.cycle["delivery_date"][:4])},
        headers={**m.net.admin, "Accept-Language": "en"},
    )
    assert english.json()["what_if"][0]["label"] == "Proportional to what each association offered"
    empty = await m.client.get(
        f"/api/v1/networks/{network_id}/season-report", params={"year": 2001}, headers=m.net.admin
    )
    assert empty.json()["cycles"] == 0
    r = await m.client.get(
        f"/api/v1/networks/{network_id}/season-report", params={"year": 1999}, headers=m.net.admin
    )
    assert_problem(r, 422, "validation_error")
    r = await m.client.get(f"/api/v1/networks/{network_id}/season-report", headers=m.buyer_staff)
    assert_problem(r, 404, "network_not_found")

    board = (
        await m.client.get(f"/api/v1/networks/{network_id}/dashboard", headers=m.net.admin)
    ).json()
    assert board["income_gini"] == 0
    assert board["income_gini_per_member"] == 0
    assert board["allocation_floor_percent"] == 50
    assert [o["policy"] for o in board["what_if"]] == [o["policy"] for o in report["what_if"]]

"""Publishing a sheet again checks every SKU it supplies: a link the sheet no longer passes
is suspended with the failed rules, and reinstated once a later publication passes."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.core.timeutil import utcnow
from tests.brands.conftest import Network
from tests.utils import assert_problem

PICHINCHA = {
    "parish": "Tumbaco",
    "canton": "Quito",
    "province": "Pichincha",
    "latitude": -0.21,
    "longitude": -78.4,
}
MULALO = {
    "parish": "Mulaló",
    "canton": "Latacunga",
    "province": "Cotopaxi",
    "latitude": -0.7,
    "longitude": -78.57,
}
AGROECOLOGICAL = {"kind": "agroecological", "number": "PGS-17", "expires_on": None}


async def _supplier(net: Network) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    sku = await net.sku()
    product = await net.sheet()
    r = await net.approve(sku["id"], product["id"])
    assert r.status_code == 201, r.text
    return sku, product, r.json()


async def _cycle(net: Network, centre_id: str) -> dict[str, Any]:
    now = utcnow()
    r = await net.client.post(
        "/api/v1/cycles",
        json={
            "network_id": net.network["id"],
            "collection_centre_id": centre_id,
            "opens_at": (now - timedelta(hours=1)).isoformat(),
            "closes_at": (now + timedelta(days=2)).isoformat(),
            "delivery_date": (now + timedelta(days=3)).date().isoformat(),
            "allocation_policy": "proportional",
        },
        headers=net.admin,
    )
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def _offer(net: Network, cycle_id: str, sku_id: str) -> Any:
    return await net.client.post(
        f"/api/v1/cycles/{cycle_id}/offers",
        json={"sku_id": sku_id, "association_id": net.association["id"], "quantity": "10"},
        headers=net.association_staff,
    )


async def _edit_and_publish(net: Network, product_id: str, **fields: Any) -> dict[str, Any]:
    r = await net.client.patch(
        f"/api/v1/products/{product_id}", json=fields, headers=net.association_staff
    )
    assert r.status_code == 200, r.text
    r = await net.client.post(
        f"/api/v1/products/{product_id}/publish", headers=net.association_staff
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def _listed(net: Network, sku_id: str, headers: dict[str, str]) -> list[Any]:
    r = await net.client.get(f"/api/v1/skus/{sku_id}", headers=headers)
    assert r.status_code == 200, r.text
    suppliers: list[Any] = r.json()["suppliers"]
    return suppliers


async def _links(net: Network, sku_id: str, headers: dict[str, str]) -> list[Any]:
    r = await net.client.get(f"/api/v1/skus/{sku_id}/suppliers", headers=headers)
    assert r.status_code == 200, r.text
    links: list[Any] = r.json()
    return links


async def test_a_republished_sheet_that_fails_the_rules_is_suspended_then_reinstated(
    net: Network,
) -> None:
    sku, product, supplier = await _supplier(net)
    pid = product["id"]
    centre = await net.api.organization("collection_centre", name="Centro de acopio Latacunga")
    placed_before = await _cycle(net, centre["id"])
    assert (await _offer(net, placed_before["id"], sku["id"])).status_code == 201
    later = await _cycle(net, centre["id"])
    buyer = await net.api.organization(kind="buyer")
    _, buyer_staff = await net.api.member(buyer["id"], role="staff")

    # The association moves the sheet out of the territory and drops the required
    # certification. Until it publishes, nothing changes for the brand.
    r = await net.client.patch(
        f"/api/v1/products/{pid}",
        json={"origin": PICHINCHA, "certifications": []},
        headers=net.association_staff,
    )
    assert r.status_code == 200, r.text
    assert [s["id"] for s in await _listed(net, sku["id"], buyer_staff)] == [supplier["id"]]

    published = (
        await net.client.post(f"/api/v1/products/{pid}/publish", headers=net.association_staff)
    ).json()
    assert published["version"] == 2
    [check] = published["supplier_checks"]
    assert check["supplier_id"] == supplier["id"]
    assert check["sku_id"] == sku["id"]
    assert check["sku_name"] == sku["name"]
    assert check["brand_id"] == net.brand["id"]
    assert (check["previous_status"], check["status"]) == ("approved", "suspended")
    assert sorted(e["rule"] for e in check["errors"]) == [
        "missing_certification",
        "outside_territory",
    ]

    # It is no longer among the SKU's suppliers, for buyers or anyone.
    assert await _listed(net, sku["id"], buyer_staff) == []
    assert await _listed(net, sku["id"], net.association_staff) == []
    r = await net.client.get("/api/v1/skus", headers=buyer_staff)
    assert [s["suppliers"] for s in r.json()["items"] if s["id"] == sku["id"]] == [[]]

    # The association and the network see why; others see only that it is suspended.
    for headers in (net.association_staff, net.admin, net.staff):
        [link] = await _links(net, sku["id"], headers)
        assert (link["status"], link["eligible"]) == ("suspended", False)
        assert link["suspended_at"] is not None
        assert sorted(e["rule"] for e in link["errors"]) == [
            "missing_certification",
            "outside_territory",
        ]
        assert "certification agroecological is missing" in link["reason"]
        assert "outside the brand's territory" in link["reason"]
    [link] = await _links(net, sku["id"], buyer_staff)
    assert (link["status"], link["reason"], link["errors"]) == ("suspended", None, [])

    # It takes no new offers; the offer placed before stays.
    r = await _offer(net, later["id"], sku["id"])
    assert_problem(r, 422, "not_an_approved_supplier")
    r = await net.client.get(
        f"/api/v1/cycles/{placed_before['id']}/offers", headers=net.association_staff
    )
    assert [(o["sku_id"], o["quantity"]) for o in r.json()] == [(sku["id"], "10.000")]

    # The network cannot approve it again while the sheet fails.
    problem = assert_problem(await net.approve(sku["id"], pid), 422, "supplier_rules_failed")
    assert sorted(e["rule"] for e in problem["errors"]) == [
        "missing_certification",
        "outside_territory",
    ]

    # Fixed only in part: still suspended, with the rule that is left.
    partly = await _edit_and_publish(net, pid, origin=MULALO)
    [check] = partly["supplier_checks"]
    assert (check["previous_status"], check["status"]) == ("suspended", "suspended")
    assert [e["rule"] for e in check["errors"]] == ["missing_certification"]
    [link] = await _links(net, sku["id"], net.association_staff)
    assert [e["rule"] for e in link["errors"]] == ["missing_certification"]

    # Fixed and published: reinstated, listed again, and it offers again.
    fixed = await _edit_and_publish(net, pid, certifications=[AGROECOLOGICAL])
    assert fixed["version"] == 4
    [check] = fixed["supplier_checks"]
    assert (check["previous_status"], check["status"], check["errors"]) == (
        "suspended",
        "approved",
        [],
    )
    [listed] = await _listed(net, sku["id"], buyer_staff)
    assert (listed["id"], listed["status"], listed["eligible"]) == (
        supplier["id"],
        "approved",
        True,
    )
    assert (listed["reason"], listed["errors"], listed["suspended_at"]) == (None, [], None)
    r = await _offer(net, later["id"], sku["id"])
    assert r.status_code == 201, r.text

    # The network's audit trail has both.
    r = await net.client.get(
        "/api/v1/audit-events",
        params={"organization_id": net.network["id"], "object_id": supplier["id"]},
        headers=net.admin,
    )
    actions = sorted(e["action"] for e in r.json()["items"])
    assert actions == ["supplier.approve", "supplier.reinstate", "supplier.suspend"]


async def test_a_category_the_brand_does_not_sell_suspends_every_sku_it_fails(
    net: Network,
) -> None:
    sku, product, _ = await _supplier(net)
    other_sku = await net.sku(name="Queso maduro Sabores de Cotopaxi")
    assert (await net.approve(other_sku["id"], product["id"])).status_code == 201

    published = await _edit_and_publish(net, product["id"], category="produce")
    checks = {c["sku_id"]: c for c in published["supplier_checks"]}
    assert set(checks) == {sku["id"], other_sku["id"]}
    for check in checks.values():
        assert check["status"] == "suspended"
        assert sorted(e["rule"] for e in check["errors"]) == [
            "category_mismatch",
            "category_not_allowed",
        ]
    assert await _listed(net, sku["id"], net.staff) == []
    assert await _listed(net, other_sku["id"], net.staff) == []


async def test_a_licence_problem_alone_suspends_nothing(net: Network) -> None:
    sku, product, supplier = await _supplier(net)
    licences = f"/api/v1/brands/{net.brand['id']}/licenses/{net.license['id']}"
    r = await net.client.post(
        f"{licences}/suspend", json={"reason": "auditoría"}, headers=net.admin
    )
    assert r.status_code == 200, r.text

    published = await _edit_and_publish(net, product["id"], name="Queso fresco tierno")
    [check] = published["supplier_checks"]
    assert check["status"] == "approved"
    assert [e["rule"] for e in check["errors"]] == ["not_licensed"]
    [link] = await _links(net, sku["id"], net.admin)
    assert (link["status"], link["eligible"], link["errors"]) == ("approved", False, [])

    # Back with the licence, without publishing again.
    await net.client.post(f"{licences}/reinstate", headers=net.admin)
    [listed] = await _listed(net, sku["id"], net.staff)
    assert (listed["id"], listed["eligible"]) == (supplier["id"], True)


async def test_withdrawn_links_stay_withdrawn(net: Network) -> None:
    sku, product, supplier = await _supplier(net)
    r = await net.client.delete(
        f"/api/v1/skus/{sku['id']}/suppliers/{supplier['id']}", headers=net.admin
    )
    assert r.status_code == 204
    published = await _edit_and_publish(net, product["id"], name="Queso fresco tierno")
    assert published["supplier_checks"] == []
    [link] = await _links(net, sku["id"], net.admin)
    assert link["status"] == "withdrawn"

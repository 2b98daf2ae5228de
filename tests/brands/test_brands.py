"""Regional brands and licences."""

from __future__ import annotations

from tests.brands.conftest import BRAND, Network
from tests.utils import Api, assert_problem


async def test_brand_is_created_with_territory_and_rules(net: Network) -> None:
    brand = net.brand
    assert brand["network_id"] == net.network["id"]
    assert brand["territory"] == BRAND["territory"]
    assert brand["rules"] == BRAND["rules"]
    r = await net.client.get(f"/api/v1/brands/{brand['id']}", headers=net.association_staff)
    assert r.status_code == 200
    assert r.json()["slug"] == "sabores-de-cotopaxi"


async def test_brand_errors(net: Network, api: Api) -> None:
    body = {**BRAND, "network_id": net.network["id"]}
    r = await net.client.post("/api/v1/brands", json=body, headers=net.admin)
    assert_problem(r, 409, "brand_slug_taken")
    r = await net.client.post(
        "/api/v1/brands",
        json={**body, "slug": "otra", "rules": {"allowed_categories": ["caviar"]}},
        headers=net.admin,
    )
    assert_problem(r, 422, "unknown_category")
    r = await net.client.post("/api/v1/brands", json={**body, "slug": "x"}, headers=net.staff)
    assert_problem(r, 403, "insufficient_role")
    r = await net.client.post(
        "/api/v1/brands", json={**body, "slug": "x"}, headers=net.association_staff
    )
    assert_problem(r, 404, "network_not_found")
    r = await net.client.post(
        "/api/v1/brands", json={**body, "slug": "Not A Slug"}, headers=net.admin
    )
    assert_problem(r, 422, "validation_error")


async def test_brand_update_by_the_network_only(net: Network, api: Api) -> None:
    url = f"/api/v1/brands/{net.brand['id']}"
    r = await net.client.patch(url, json={"story": "Nueva historia"}, headers=net.admin)
    assert r.status_code == 200
    assert r.json()["story"] == "Nueva historia"
    other = await api.organization("network")
    _, other_admin = await api.member(other["id"])
    r = await net.client.patch(url, json={"story": "x"}, headers=other_admin)
    assert_problem(r, 404, "brand_not_found")


async def test_licences(net: Network, api: Api) -> None:
    licences = f"/api/v1/brands/{net.brand['id']}/licenses"
    assert net.license["status"] == "active"
    assert net.license["association_name"] == "Asociación Sabores de Mulaló"

    r = await net.client.post(
        licences, json={"association_id": net.association["id"]}, headers=net.admin
    )
    assert_problem(r, 409, "license_exists")
    outsider = await api.organization()
    r = await net.client.post(licences, json={"association_id": outsider["id"]}, headers=net.admin)
    assert_problem(r, 422, "not_in_network")

    r = await net.client.post(
        f"{licences}/{net.license['id']}/suspend",
        json={"reason": "Registro sanitario en trámite"},
        headers=net.admin,
    )
    assert r.status_code == 200
    assert r.json()["status"] == "suspended"
    assert r.json()["suspended_at"]
    r = await net.client.post(f"{licences}/{net.license['id']}/reinstate", headers=net.admin)
    assert r.json()["status"] == "active"

    # the association sees its own licence; another association of the network sees none
    mine = (await net.client.get(licences, headers=net.association_staff)).json()["items"]
    assert [lic["id"] for lic in mine] == [net.license["id"]]
    _, other_staff = await net.join()
    assert (await net.client.get(licences, headers=other_staff)).json()["items"] == []
    everyone = (await net.client.get(licences, headers=net.staff)).json()["items"]
    assert len(everyone) == 1


async def test_changes_are_audited(net: Network) -> None:
    sku = await net.sku()
    product = await net.sheet()
    assert (await net.approve(sku["id"], product["id"])).status_code == 201
    r = await net.client.get(
        "/api/v1/audit-events", params={"organization_id": net.network["id"]}, headers=net.admin
    )
    actions = [e["action"] for e in r.json()["items"]]
    for action in ("brand.create", "license.grant", "sku.create", "supplier.approve"):
        assert action in actions

"""Approving sheets as suppliers of a SKU: every brand rule, alone and all together."""

from __future__ import annotations

from typing import Any

import pytest

from tests.brands.conftest import Network
from tests.utils import assert_problem


def rules_of(problem: dict[str, Any]) -> list[str]:
    return sorted(e["rule"] for e in problem["errors"])


async def test_a_sheet_that_meets_every_rule_is_approved(net: Network) -> None:
    sku = await net.sku()
    product = await net.sheet()
    r = await net.approve(sku["id"], product["id"])
    assert r.status_code == 201, r.text
    supplier = r.json()
    assert supplier["association_id"] == net.association["id"]
    assert supplier["product_version"] == 1
    assert supplier["eligible"] is True
    assert_problem(await net.approve(sku["id"], product["id"]), 409, "supplier_exists")


async def _rule_alone(net: Network, case: str) -> tuple[dict[str, Any], dict[str, Any]]:
    sku = await net.sku()
    if case == "sheet_not_published":
        return sku, await net.sheet(publish=False)
    if case == "not_licensed":
        association, staff = await net.join()
        return sku, await net.sheet(association_id=association["id"], headers=staff)
    if case == "outside_territory":
        origin = {
            "parish": "Tumbaco",
            "canton": "Quito",
            "province": "Pichincha",
            "latitude": -0.21,
            "longitude": -78.4,
        }
        return sku, await net.sheet(origin=origin)
    if case == "category_not_allowed":
        produce = await net.sku(name="Hortalizas", category="produce", unit="kg")
        return produce, await net.sheet(category="produce", unit="kg")
    if case == "missing_certification":
        return sku, await net.sheet(certifications=[])
    if case == "sanitary_registration_missing":
        return sku, await net.sheet(sanitary_registration=None)
    if case == "sanitary_registration_expired":
        expired = {"authority": "ARCSA", "number": "1-ALN", "expires_on": "2020-01-31"}
        return sku, await net.sheet(sanitary_registration=expired)
    raise AssertionError(case)


@pytest.mark.parametrize(
    "rule",
    [
        "sheet_not_published",
        "not_licensed",
        "outside_territory",
        "category_not_allowed",
        "missing_certification",
        "sanitary_registration_missing",
        "sanitary_registration_expired",
    ],
)
async def test_each_rule_fails_alone(net: Network, rule: str) -> None:
    sku, product = await _rule_alone(net, rule)
    problem = assert_problem(
        await net.approve(sku["id"], product["id"]), 422, "supplier_rules_failed"
    )
    assert rules_of(problem) == [rule]


async def test_every_failed_rule_in_one_answer(net: Network) -> None:
    sku = await net.sku()
    stranger, staff = await net.join(province="Pichincha", canton="Quito", parish="Tumbaco")
    product = await net.sheet(
        publish=False,
        headers=staff,
        association_id=stranger["id"],
        category="jams",
        certifications=[{"kind": "agroecological", "number": "1", "expires_on": "2021-01-01"}],
        sanitary_registration=None,
        origin={
            "parish": "Tumbaco",
            "canton": "Quito",
            "province": "Pichincha",
            "latitude": -0.21,
            "longitude": -78.4,
        },
    )
    problem = assert_problem(
        await net.approve(sku["id"], product["id"]), 422, "supplier_rules_failed"
    )
    assert set(rules_of(problem)) >= {
        "sheet_not_published",
        "not_licensed",
        "outside_territory",
        "category_not_allowed",
        "missing_certification",
    }
    # in the network's language (Spanish): "la certificación … caducó"
    assert (
        "caducó"
        in next(e for e in problem["errors"] if e["rule"] == "missing_certification")["detail"]
    )


async def test_the_brand_rules_cover_processed_food(net: Network) -> None:
    flour_sku = await net.sku(name="Harina de haba", category="flours", unit="kg")
    flour = await net.sheet(category="flours", unit="kg", sanitary_registration=None)
    problem = assert_problem(
        await net.approve(flour_sku["id"], flour["id"]), 422, "supplier_rules_failed"
    )
    assert rules_of(problem) == ["sanitary_registration_missing"]


async def test_a_suspended_licence_takes_the_supplier_out(net: Network) -> None:
    sku = await net.sku()
    product = await net.sheet()
    assert (await net.approve(sku["id"], product["id"])).status_code == 201
    licences = f"/api/v1/brands/{net.brand['id']}/licenses/{net.license['id']}"
    await net.client.post(f"{licences}/suspend", json={"reason": "auditoría"}, headers=net.admin)
    [supplier] = (await net.client.get(f"/api/v1/skus/{sku['id']}", headers=net.staff)).json()[
        "suppliers"
    ]
    assert supplier["eligible"] is False
    # a new approval for the same association is refused while suspended
    other_sku = await net.sku(name="Queso maduro")
    problem = assert_problem(
        await net.approve(other_sku["id"], product["id"]), 422, "supplier_rules_failed"
    )
    assert rules_of(problem) == ["not_licensed"]
    assert "suspendida" in problem["errors"][0]["detail"]  # the network's language: Spanish
    await net.client.post(f"{licences}/reinstate", headers=net.admin)
    [supplier] = (await net.client.get(f"/api/v1/skus/{sku['id']}", headers=net.staff)).json()[
        "suppliers"
    ]
    assert supplier["eligible"] is True


async def test_only_the_network_admin_approves(net: Network) -> None:
    sku = await net.sku()
    product = await net.sheet()
    r = await net.client.post(
        f"/api/v1/skus/{sku['id']}/suppliers",
        json={"product_id": product["id"]},
        headers=net.association_staff,
    )
    assert_problem(r, 404, "sku_not_found")
    r = await net.client.post(
        f"/api/v1/skus/{sku['id']}/suppliers", json={"product_id": product["id"]}, headers=net.staff
    )
    assert_problem(r, 403, "insufficient_role")
    assert_problem(await net.approve(sku["id"], "no-such-product"), 404, "product_not_found")


async def test_withdrawing_a_supplier(net: Network) -> None:
    sku = await net.sku()
    product = await net.sheet()
    supplier = (await net.approve(sku["id"], product["id"])).json()
    r = await net.client.delete(
        f"/api/v1/skus/{sku['id']}/suppliers/{supplier['id']}", headers=net.admin
    )
    assert r.status_code == 204
    listed = (await net.client.get(f"/api/v1/skus/{sku['id']}/suppliers", headers=net.staff)).json()
    assert [(s["status"], s["eligible"]) for s in listed] == [("withdrawn", False)]
    assert (await net.client.get(f"/api/v1/skus/{sku['id']}", headers=net.staff)).json()[
        "suppliers"
    ] == []
    assert (await net.approve(sku["id"], product["id"])).status_code == 201

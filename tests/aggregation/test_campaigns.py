"""Joint purchase campaigns through the API: packs, tolerances, cost shares to the cent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from app.core.timeutil import utcnow
from tests.brands.conftest import Network, net  # noqa: F401 - the fixture these tests use
from tests.utils import assert_problem


async def _campaign(n: Network, **fields: Any) -> dict[str, Any]:
    body = {
        "network_id": n.network["id"],
        "supplier_name": "Balanceados del Valle",
        "item_name": "Balanceado para cuyes, saco 40 kg",
        "unit": "kg",
        "pack_size": "40",
        "tiers": [
            {"min_packs": 1, "pack_price_cents": 3200},
            {"min_packs": 10, "pack_price_cents": 2900},
        ],
        "closes_at": (utcnow() + timedelta(days=5)).isoformat(),
    }
    body.update(fields)
    r = await n.client.post("/api/v1/purchase-campaigns", json=body, headers=n.admin)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_a_joint_purchase_of_feed(net: Network) -> None:  # noqa: F811
    campaign = await _campaign(net)
    url = f"/api/v1/purchase-campaigns/{campaign['id']}"
    second, second_staff = await net.join(name="Asociación Cuyeros de Pujilí")
    third, third_staff = await net.join(name="Asociación Guangaje")
    requests = [
        (net.association, net.association_staff, "150", "20"),
        (second, second_staff, "200", "0"),
        (third, third_staff, "45", "10"),
    ]
    for association, staff, quantity, tolerance in requests:
        r = await net.client.post(
            f"{url}/requests",
            json={
                "association_id": association["id"],
                "quantity": quantity,
                "tolerance": tolerance,
            },
            headers=staff,
        )
        assert r.status_code == 201, r.text
    r = await net.client.post(
        f"{url}/requests",
        json={"association_id": second["id"], "quantity": "1"},
        headers=second_staff,
    )
    assert_problem(r, 409, "request_exists")
    r = await net.client.post(
        f"{url}/requests",
        json={"association_id": second["id"], "quantity": "1"},
        headers=third_staff,
    )
    assert_problem(r, 404, "organization_not_found")

    r = await net.client.post(f"{url}/close", headers=net.admin)
    assert r.status_code == 200, r.text
    closed = r.json()
    # 395 kg asked = 9.875 sacks; 5 kg over on a 10th sack fits the 30 kg of tolerance
    assert closed["packs"] == 10
    assert closed["rounding"] == "up"
    assert closed["pack_price_cents"] == 2900
    assert closed["total_cost_cents"] == 29000
    shares = {s["association_id"]: s for s in closed["shares"]}
    assert sum(s["cost_cents"] for s in shares.values()) == 29000
    assert sum(float(s["quantity"]) for s in shares.values()) == 400
    assert shares[second["id"]]["quantity"] == "200.000"  # no tolerance: exactly its request
    for s in shares.values():
        assert s["cost_cents"] <= s["cost_alone_cents"]
        assert s["saved_cents"] == s["cost_alone_cents"] - s["cost_cents"]
    # the third alone: 2 sacks at 3200
    assert shares[third["id"]]["cost_alone_cents"] == 6400

    again = await net.client.post(f"{url}/close", headers=net.admin)
    assert again.json() == closed
    mine = (await net.client.get(url, headers=third_staff)).json()
    assert [s["association_id"] for s in mine["shares"]] == [third["id"]]
    r = await net.client.post(
        f"{url}/requests",
        json={"association_id": third["id"], "quantity": "1"},
        headers=third_staff,
    )
    assert_problem(r, 409, "campaign_closed")


async def test_campaign_rules(net: Network, api: Any) -> None:  # noqa: F811
    r = await net.client.post(
        "/api/v1/purchase-campaigns",
        json={
            "network_id": net.network["id"],
            "supplier_name": "x",
            "item_name": "y",
            "unit": "kg",
            "pack_size": "40",
            "tiers": [{"min_packs": 5, "pack_price_cents": 100}],
            "closes_at": (utcnow() - timedelta(days=1)).isoformat(),
        },
        headers=net.admin,
    )
    problem = assert_problem(r, 422, "invalid_campaign")
    assert {e["field"] for e in problem["errors"]} == {"tiers", "closes_at"}
    campaign = await _campaign(net)
    outsider = await api.organization("buyer")
    _, outsider_staff = await api.member(outsider["id"])
    r = await net.client.get(f"/api/v1/purchase-campaigns/{campaign['id']}", headers=outsider_staff)
    assert_problem(r, 404, "campaign_not_found")
    close = f"/api/v1/purchase-campaigns/{campaign['id']}/close"
    assert_problem(await net.client.post(close, headers=net.staff), 403, "insufficient_role")
    # an association takes part in the campaign but does not run it
    r = await net.client.post(close, headers=net.association_staff)
    assert_problem(r, 404, "campaign_not_found")

"""One walk through every endpoint family of API.md, in the order people use them, as each
role: platform admin, network admin, association staff, buyers, collection centre staff,
and Stripe's webhook. On SQLite by default and on PostgreSQL with MINGA_TEST_DATABASE_URL."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from app.core.timeutil import utcnow
from tests.catalog.helpers import PNG, sheet
from tests.payments.helpers import sign
from tests.utils import PASSWORD, Api, assert_problem

V1 = "/api/v1"


async def ok(r: httpx.Response, status: int = 200) -> Any:
    assert r.status_code == status, f"{r.request.method} {r.request.url}: {r.status_code} {r.text}"
    return r.json() if "json" in r.headers.get("content-type", "") else r


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
async def test_a_whole_cycle_through_the_api(
    api: Api, monkeypatch: pytest.MonkeyPatch, app: Any
) -> None:
    c = api.client
    admin = await api.admin()

    # --- accounts: the platform admin creates the organisations and their first admins ---
    me = await ok(await c.get(f"{V1}/me", headers=admin))
    assert me["is_platform_admin"] is True
    network = await api.organization("network", name="Red de Cotopaxi")
    mulalo = await api.organization(
        "association", name="Lácteas Mulaló", parish="Mulaló", members_total=30, members_women=26
    )
    pujili = await api.organization(
        "association",
        name="Mujeres de Pujilí",
        parish="Pujilí",
        canton="Pujilí",
        latitude=-0.9575,
        longitude=-78.6961,
        members_total=20,
        members_women=18,
    )
    centre = await api.organization(
        "collection_centre", name="Centro de acopio Latacunga", latitude=-0.9352, longitude=-78.6155
    )
    restaurant = await api.organization(
        "buyer", name="Mama Miche Marisquería", latitude=-0.931, longitude=-78.614
    )
    supermarket = await api.organization(
        "buyer",
        name="Supermercado Santa María",
        buyer_type="supermarket",
        latitude=-0.9465,
        longitude=-78.6175,
        payment_terms_days=45,
    )
    _, net_admin = await api.member(network["id"], role="admin")
    _, mulalo_staff = await api.member(mulalo["id"], role="staff")
    _, pujili_staff = await api.member(pujili["id"], role="staff")
    _, centre_admin = await api.member(centre["id"], role="admin")
    _, centre_staff = await api.member(centre["id"], role="staff")
    _, chef = await api.member(restaurant["id"], role="staff")
    _, chef_admin = await api.member(restaurant["id"], role="admin")
    _, buyer_admin = await api.member(supermarket["id"], role="admin")
    for association in (mulalo, pujili):
        await ok(
            await c.post(
                f"{V1}/networks/{network['id']}/associations",
                json={"association_id": association["id"]},
                headers=await api.admin(),  # a network admin's request would only invite it
            ),
            201,
        )
    # an organisation admin adds a colleague; a staff member cannot
    await ok(
        await c.post(
            f"{V1}/organizations/{supermarket['id']}/members",
            json={
                "email": "compras@santamaria.ec",
                "full_name": "Compras",
                "password": PASSWORD,
                "role": "staff",
            },
            headers=buyer_admin,
        ),
        201,
    )
    purchaser = await api.login("compras@santamaria.ec")
    assert_problem(
        await c.post(
            f"{V1}/organizations/{supermarket['id']}/members",
            json={
                "email": "x@santamaria.ec",
                "full_name": "X",
                "password": PASSWORD,
                "role": "staff",
            },
            headers=purchaser,
        ),
        403,
        "insufficient_role",
    )

    # --- catalogue: associations publish their sheets ---
    sheets = {}
    for association, staff in ((mulalo, mulalo_staff), (pujili, pujili_staff)):
        origin = {
            "parish": association["parish"],
            "canton": association["canton"],
            "province": "Cotopaxi",
            "latitude": association["latitude"],
            "longitude": association["longitude"],
        }
        draft = await ok(
            await c.post(
                f"{V1}/products", json=sheet(association["id"], origin=origin), headers=staff
            ),
            201,
        )
        await ok(
            await c.patch(
                f"{V1}/products/{draft['id']}",
                json={"story": "Ordeño de madrugada."},
                headers=staff,
            )
        )
        await ok(
            await c.post(
                f"{V1}/products/{draft['id']}/images",
                files={"file": ("queso.png", PNG, "image/png")},
                headers=staff,
            ),
            201,
        )
        sheets[association["id"]] = await ok(
            await c.post(f"{V1}/products/{draft['id']}/publish", headers=staff)
        )
    found = await ok(await c.get(f"{V1}/products", params={"q": "PUJILI queso"}, headers=chef))
    assert [p["association_id"] for p in found["items"]] == [pujili["id"]]
    versions = await ok(
        await c.get(f"{V1}/products/{sheets[mulalo['id']]['id']}/versions", headers=chef)
    )
    assert len(versions["items"] if isinstance(versions, dict) else versions) == 1

    # --- brands: the network runs its regional brand ---
    brand = await ok(
        await c.post(
            f"{V1}/brands",
            json={
                "network_id": network["id"],
                "name": "Sabores de Cotopaxi",
                "slug": "sabores",
                "territory": {"provinces": ["Cotopaxi"], "cantons": []},
                "rules": {
                    "required_certifications": ["agroecological"],
                    "allowed_categories": ["dairy"],
                    "sanitary_registration_required_for": ["dairy"],
                },
            },
            headers=net_admin,
        ),
        201,
    )
    for association in (mulalo, pujili):
        await ok(
            await c.post(
                f"{V1}/brands/{brand['id']}/licenses",
                json={"association_id": association["id"]},
                headers=net_admin,
            ),
            201,
        )
    sku = await ok(
        await c.post(
            f"{V1}/brands/{brand['id']}/skus",
            json={
                "name": "Queso fresco 500 g",
                "category": "dairy",
                "unit": "unit",
                "pack_size": "1",
                "unit_weight_kg": "0.5",
                "producer_price_cents": 250,
                "solidarity_fund_bps": 100,
                "tiers": [
                    {"min_quantity": "0", "unit_price_cents": 400},
                    {"min_quantity": "40", "unit_price_cents": 360},
                ],
            },
            headers=net_admin,
        ),
        201,
    )
    for product in sheets.values():
        await ok(
            await c.post(
                f"{V1}/skus/{sku['id']}/suppliers",
                json={"product_id": product["id"]},
                headers=net_admin,
            ),
            201,
        )
    catalogue = await ok(await c.get(f"{V1}/skus", headers=chef))
    [listed] = catalogue["items"]
    assert {s["parish"] for s in listed["suppliers"]} == {"Mulaló", "Pujilí"}
    breakdown = listed["price_breakdown"]
    assert (
        sum(
            breakdown[k]
            for k in ("producer_cents", "logistics_cents", "network_cents", "solidarity_fund_cents")
        )
        == 400
    )

    # --- joint purchase of feed ---
    campaign = await ok(
        await c.post(
            f"{V1}/purchase-campaigns",
            json={
                "network_id": network["id"],
                "supplier_name": "Balanceados",
                "item_name": "Balanceado 40 kg",
                "unit": "kg",
                "pack_size": "40",
                "tiers": [
                    {"min_packs": 1, "pack_price_cents": 3400},
                    {"min_packs": 5, "pack_price_cents": 3000},
                ],
                "closes_at": (utcnow() + timedelta(days=3)).isoformat(),
            },
            headers=net_admin,
        ),
        201,
    )
    for association, staff, kg in ((mulalo, mulalo_staff, "100"), (pujili, pujili_staff, "95")):
        await ok(
            await c.post(
                f"{V1}/purchase-campaigns/{campaign['id']}/requests",
                json={"association_id": association["id"], "quantity": kg, "tolerance": "10"},
                headers=staff,
            ),
            201,
        )
    purchase = await ok(
        await c.post(f"{V1}/purchase-campaigns/{campaign['id']}/close", headers=net_admin)
    )
    assert purchase["packs"] == 5
    assert sum(s["cost_cents"] for s in purchase["shares"]) == purchase["total_cost_cents"]

    # --- cycle, offers, orders ---
    now = utcnow()
    cycle = await ok(
        await c.post(
            f"{V1}/cycles",
            json={
                "network_id": network["id"],
                "collection_centre_id": centre["id"],
                "opens_at": (now - timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(days=1)).isoformat(),
                "delivery_date": (now + timedelta(days=2)).date().isoformat(),
                "allocation_policy": "equal_share",
            },
            headers=net_admin,
        ),
        201,
    )
    assert cycle["status"] == "open"
    for association, staff, quantity in (
        (mulalo, mulalo_staff, "40"),
        (pujili, pujili_staff, "15"),
    ):
        await ok(
            await c.post(
                f"{V1}/cycles/{cycle['id']}/offers",
                json={
                    "sku_id": sku["id"],
                    "association_id": association["id"],
                    "quantity": quantity,
                },
                headers=staff,
            ),
            201,
        )
    order_body = {
        "buyer_id": restaurant["id"],
        "cycle_id": cycle["id"],
        "payment_method": "cash_on_delivery",
        "lines": [{"sku_id": sku["id"], "quantity": "12"}],
    }
    small = await ok(
        await c.post(f"{V1}/orders", json=order_body, headers={**chef, "Idempotency-Key": "e2e-1"}),
        201,
    )
    replay = await ok(
        await c.post(f"{V1}/orders", json=order_body, headers={**chef, "Idempotency-Key": "e2e-1"}),
        201,
    )
    assert replay["id"] == small["id"]
    big = await ok(
        await c.post(
            f"{V1}/orders",
            json={
                "buyer_id": supermarket["id"],
                "cycle_id": cycle["id"],
                "payment_method": "invoice",
                "purchase_order_number": "OC-2026-118",
                "lines": [
                    {
                        "sku_id": sku["id"],
                        "quantity": "30",
                        "preferred_association_id": pujili["id"],
                    }
                ],
            },
            headers=purchaser,
        ),
        201,
    )
    assert_problem(
        await c.post(
            f"{V1}/orders",
            json={**order_body, "lines": [{"sku_id": sku["id"], "quantity": "20"}]},
            headers=chef,
        ),
        409,
        "insufficient_supply",
    )
    await ok(
        await c.patch(
            f"{V1}/orders/{small['id']}",
            json={"lines": [{"sku_id": sku["id"], "quantity": "13"}]},
            headers=chef,
        )
    )
    extra = await ok(
        await c.post(
            f"{V1}/orders",
            json={**order_body, "lines": [{"sku_id": sku["id"], "quantity": "1"}]},
            headers=chef,
        ),
        201,
    )
    await ok(await c.post(f"{V1}/orders/{extra['id']}/cancel", headers=chef))
    availability = await ok(await c.get(f"{V1}/cycles/{cycle['id']}/availability", headers=chef))
    assert availability[0]["reserved"] == "43.000"
    assert availability[0]["unit_price_cents"] == 360
    standing = await ok(
        await c.post(
            f"{V1}/standing-orders",
            json={
                "buyer_id": restaurant["id"],
                "network_id": network["id"],
                "payment_method": "invoice",
                "lines": [{"sku_id": sku["id"], "quantity": "5"}],
            },
            headers=chef,
        ),
        201,
    )
    assert standing["active"]
    mine = await ok(await c.get(f"{V1}/orders", params={"cycle_id": cycle["id"]}, headers=chef))
    assert {o["id"] for o in mine["items"]} == {small["id"], extra["id"]}

    # --- close and aggregate ---
    closed = await ok(await c.post(f"{V1}/cycles/{cycle['id']}/close", headers=net_admin))
    assert closed["skus"] == [
        {
            "sku_id": sku["id"],
            "sku_name": sku["name"],
            "demand": "43.000",
            "final_unit_price_cents": 360,
        }
    ]
    allocations = await ok(await c.get(f"{V1}/cycles/{cycle['id']}/allocations", headers=net_admin))
    assert sum(Decimal(a["quantity"]) for a in allocations) == 43
    own = await ok(await c.get(f"{V1}/cycles/{cycle['id']}/allocations", headers=pujili_staff))
    assert {a["association_id"] for a in own} == {pujili["id"]}
    # the supermarket pinned Pujilí: its whole offer went there first
    assert big["lines"][0]["preferred_association_id"] == pujili["id"]
    assert [(a["quantity"], a["pinned"]) for a in own] == [("15.000", "15.000")]
    delivery_orders = await ok(
        await c.get(f"{V1}/cycles/{cycle['id']}/delivery-orders", headers=centre_staff)
    )
    assert len(delivery_orders) == 2

    # --- collection centre: receive (Mulaló short by 2), consolidate, route, deliver ---
    for i, delivery_order in enumerate(delivery_orders):
        [line] = delivery_order["lines"]
        short = 2 if delivery_order["association_id"] == mulalo["id"] else 0
        await ok(
            await c.post(
                f"{V1}/delivery-orders/{delivery_order['id']}/receipts",
                json={
                    "lines": [
                        {
                            "sku_id": sku["id"],
                            "accepted_quantity": str(Decimal(line["quantity"]) - short),
                            "rejected_quantity": str(short),
                            "reason": "fermentado" if short else None,
                            "lot_code": f"E2E-{i}",
                            "temperature_c": "4.5",
                        }
                    ]
                },
                headers=centre_staff,
            ),
            201,
        )
    shipments = await ok(await c.post(f"{V1}/cycles/{cycle['id']}/shipments", headers=centre_staff))
    assert {s["buyer_id"] for s in shipments} == {restaurant["id"], supermarket["id"]}
    assert sum(Decimal(line["quantity"]) for s in shipments for line in s["lines"]) == 41
    await ok(
        await c.post(
            f"{V1}/collection-centres/{centre['id']}/vehicles",
            json={"name": "Furgón frío", "capacity_kg": "800", "chilled": True},
            headers=centre_admin,
        ),
        201,
    )
    await ok(
        await c.put(
            f"{V1}/buyers/{restaurant['id']}/delivery-window",
            json={"opens": "07:00", "closes": "11:00", "service_minutes": 15},
            headers=chef_admin,
        )
    )
    plan = await ok(await c.post(f"{V1}/cycles/{cycle['id']}/routes", headers=centre_staff))
    assert plan["unassigned"] == []
    assert plan["direct_delivery_km"] > 0
    geojson = await ok(
        await c.get(f"{V1}/cycles/{cycle['id']}/routes.geojson", headers=centre_staff)
    )
    assert geojson["type"] == "FeatureCollection"
    for shipment in shipments:
        pdf = await c.get(f"{V1}/shipments/{shipment['id']}/labels.pdf", headers=centre_staff)
        assert pdf.content.startswith(b"%PDF")
        await ok(
            await c.post(
                f"{V1}/shipments/{shipment['id']}/deliver",
                json={"received_by": "Recepción"},
                headers=centre_staff,
            )
        )
    lot = await ok(await c.get(f"{V1}/lots/E2E-0", headers=chef))
    assert lot["parish"] in {"Mulaló", "Pujilí"}

    # --- settlement ---
    settled = await ok(
        await c.post(
            f"{V1}/cycles/{cycle['id']}/settle",
            headers={**net_admin, "Idempotency-Key": "e2e-settle"},
        )
    )
    assert settled["status"] == "settled"
    assert settled["invoiced_cents"] == 41 * 360
    assert settled["paid_out_cents"] == 41 * 250
    invoices = await ok(await c.get(f"{V1}/invoices", headers=purchaser))
    [invoice] = invoices["items"]
    assert invoice["purchase_order_number"] == "OC-2026-118"
    payouts = await ok(await c.get(f"{V1}/cycles/{cycle['id']}/payouts", headers=mulalo_staff))
    assert [p["association_id"] for p in payouts] == [mulalo["id"]]
    board = await ok(await c.get(f"{V1}/networks/{network['id']}/dashboard", headers=net_admin))
    assert board["revenue_cents"] == 41 * 360
    assert board["associations_paid"] == 2
    assert board["members_women_reached"] == 44

    # --- Stripe's webhook: a signed event is taken once; a forged one is refused ---
    monkeypatch.setattr(app.state.settings, "stripe_webhook_secret", SecretStr("whsec_test"))
    payload = json.dumps(
        {
            "id": "evt_e2e",
            "object": "event",
            "type": "payment_intent.canceled",
            "created": 1,
            "data": {"object": {"id": "pi_unknown", "object": "payment_intent"}},
        }
    )
    first = await ok(
        await c.post(
            f"{V1}/payments/stripe/webhook",
            content=payload,
            headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"},
        )
    )
    again = await ok(
        await c.post(
            f"{V1}/payments/stripe/webhook",
            content=payload,
            headers={"Stripe-Signature": sign(payload), "Content-Type": "application/json"},
        )
    )
    assert (first["duplicate"], again["duplicate"]) == (False, True)
    r = await c.post(
        f"{V1}/payments/stripe/webhook",
        content=payload,
        headers={"Stripe-Signature": sign(payload, secret="whsec_forged")},
    )
    assert_problem(r, 400, "invalid_signature")

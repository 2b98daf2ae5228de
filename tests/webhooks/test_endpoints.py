"""Registering webhook endpoints: who may, what they may subscribe to, and where they may
point (never at this machine or a private network)."""

from __future__ import annotations

import base64

import pytest

from tests.brands.conftest import Network
from tests.utils import Api, assert_problem
from tests.webhooks.conftest import endpoint

URL = "https://93.184.216.34/hook"  # a public address, as a literal: no DNS needed


async def test_the_secret_is_shown_once_and_only_admins_register(api: Api, net: Network) -> None:
    network_id = net.network["id"]
    created = await endpoint(
        api.client, net.admin, network_id, URL, ["order.placed", "cycle.closed"]
    )
    assert created["organization_id"] == network_id
    assert created["events"] == ["order.placed", "cycle.closed"]
    assert created["is_active"] is True
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 24

    r = await api.client.get(f"/api/v1/webhook-endpoints/{created['id']}", headers=net.admin)
    assert r.status_code == 200, r.text
    assert "secret" not in r.json()
    assert r.json()["url"] == URL
    r = await api.client.get(
        "/api/v1/webhook-endpoints", params={"organization_id": network_id}, headers=net.admin
    )
    assert r.status_code == 200, r.text
    assert [e["id"] for e in r.json()["items"]] == [created["id"]]
    assert "secret" not in r.json()["items"][0]
    assert r.json()["next_cursor"] is None

    # staff of the organisation: 403; anyone else: the endpoint does not exist for them
    body = {"organization_id": network_id, "url": URL, "events": ["order.placed"]}
    r = await api.client.post("/api/v1/webhook-endpoints", json=body, headers=net.staff)
    assert_problem(r, 403, "insufficient_role")
    r = await api.client.get(f"/api/v1/webhook-endpoints/{created['id']}", headers=net.staff)
    assert_problem(r, 403, "insufficient_role")
    outsider = await api.organization("buyer")
    _, outsider_admin = await api.member(outsider["id"], role="admin")
    r = await api.client.get(f"/api/v1/webhook-endpoints/{created['id']}", headers=outsider_admin)
    assert_problem(r, 404, "webhook_endpoint_not_found")
    r = await api.client.post("/api/v1/webhook-endpoints", json=body, headers=outsider_admin)
    assert_problem(r, 404, "organization_not_found")


async def test_unknown_event_types_are_refused(api: Api, net: Network) -> None:
    r = await api.client.post(
        "/api/v1/webhook-endpoints",
        json={"organization_id": net.network["id"], "url": URL, "events": ["order.eaten"]},
        headers=net.admin,
    )
    assert_problem(r, 422, "validation_error")
    r = await api.client.post(
        "/api/v1/webhook-endpoints",
        json={"organization_id": net.network["id"], "url": URL, "events": []},
        headers=net.admin,
    )
    assert_problem(r, 422, "validation_error")


@pytest.mark.usefixtures("strict")
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://10.1.2.3/",
        "http://localhost/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://100.64.0.1/",
        "http://[::ffff:192.168.1.1]/",
        "ftp://93.184.216.34/hook",
        "https://user:pass@93.184.216.34/hook",
        "not a url",
    ],
)
async def test_urls_that_are_not_public_are_refused(api: Api, net: Network, url: str) -> None:
    r = await api.client.post(
        "/api/v1/webhook-endpoints",
        json={"organization_id": net.network["id"], "url": url, "events": ["order.placed"]},
        headers=net.admin,
    )
    body = assert_problem(r, 422, "webhook_url_not_allowed")
    assert body["errors"][0]["field"] == "url"


@pytest.mark.usefixtures("strict")
async def test_a_public_address_is_accepted_and_problems_speak_spanish(
    api: Api, net: Network
) -> None:
    await endpoint(api.client, net.admin, net.network["id"], URL, ["order.placed"])
    r = await api.client.post(
        "/api/v1/webhook-endpoints",
        json={
            "organization_id": net.network["id"],
            "url": "http://10.1.2.3/",
            "events": ["order.placed"],
        },
        headers=net.admin | {"Accept-Language": "es"},
    )
    body = assert_problem(r, 422, "webhook_url_not_allowed")
    assert "pública" in body["detail"], body


async def test_deleting_disables_the_endpoint(api: Api, net: Network) -> None:
    created = await endpoint(api.client, net.admin, net.network["id"], URL, ["order.placed"])
    path = f"/api/v1/webhook-endpoints/{created['id']}"
    assert (await api.client.delete(path, headers=net.admin)).status_code == 204
    assert (await api.client.delete(path, headers=net.admin)).status_code == 204
    r = await api.client.get(path, headers=net.admin)
    assert r.json()["is_active"] is False
    assert r.json()["disabled_at"] is not None

"""Logging in, tokens, throttling and API keys."""

from __future__ import annotations

from datetime import timedelta

import httpx
import jwt

from app.core.timeutil import utcnow
from tests.utils import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, Api, assert_problem, bearer

TOKEN = "/api/v1/auth/token"


async def test_login_and_me(api: Api) -> None:
    org = await api.organization("association")
    _member, headers = await api.member(org["id"], role="staff", email="Rosa@Example.org")
    r = await api.client.get("/api/v1/me", headers=headers)
    assert r.status_code == 200
    me = r.json()
    assert me["email"] == "rosa@example.org"
    assert me["is_platform_admin"] is False
    assert me["memberships"] == [
        {
            "organization_id": org["id"],
            "organization_name": org["name"],
            "organization_kind": "association",
            "role": "staff",
        }
    ]
    # emails are case-insensitive at login
    r = await api.client.post(TOKEN, data={"username": "ROSA@example.org", "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["token_type"] == "bearer"


async def test_first_admin_comes_from_settings(api: Api) -> None:
    r = await api.client.get("/api/v1/me", headers=await api.admin())
    assert r.json()["email"] == ADMIN_EMAIL
    assert r.json()["is_platform_admin"] is True


async def test_wrong_password_is_401(client: httpx.AsyncClient) -> None:
    r = await client.post(TOKEN, data={"username": ADMIN_EMAIL, "password": "not-it-at-all"})
    body = assert_problem(r, 401, "invalid_credentials")
    assert "password" not in body["detail"].lower() or "email" in body["detail"].lower()
    r = await client.post(TOKEN, data={"username": "nobody@minga.ec", "password": "whatever1"})
    assert_problem(r, 401, "invalid_credentials")


async def test_missing_form_fields_is_422(client: httpx.AsyncClient) -> None:
    r = await client.post(TOKEN, data={"username": ADMIN_EMAIL}, headers={"Accept-Language": "en"})
    body = assert_problem(r, 422, "validation_error")
    assert {"field": "password", "detail": "Field required"} in body["errors"]


async def test_failed_logins_are_throttled_per_account(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        r = await client.post(TOKEN, data={"username": ADMIN_EMAIL, "password": "wrong-pass"})
        assert r.status_code == 401
    r = await client.post(TOKEN, data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert_problem(r, 429, "login_throttled")
    assert 1 <= int(r.headers["Retry-After"]) <= 901


async def test_failed_logins_are_throttled_per_address(client: httpx.AsyncClient) -> None:
    # a different account each time, all from the same client address (limit 12 in tests)
    for i in range(12):
        r = await client.post(TOKEN, data={"username": f"u{i}@minga.ec", "password": "x" * 9})
        assert r.status_code == 401
    r = await client.post(TOKEN, data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert_problem(r, 429, "login_throttled")
    assert int(r.headers["Retry-After"]) >= 1


async def test_a_good_login_clears_the_account_count(client: httpx.AsyncClient) -> None:
    for _ in range(4):
        await client.post(TOKEN, data={"username": ADMIN_EMAIL, "password": "wrong-pass"})
    r = await client.post(TOKEN, data={"username": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert r.status_code == 200
    for _ in range(4):
        r = await client.post(TOKEN, data={"username": ADMIN_EMAIL, "password": "wrong-pass"})
        assert r.status_code == 401


async def test_no_bad_or_expired_token(client: httpx.AsyncClient, api: Api) -> None:
    r = await client.get("/api/v1/me")
    assert_problem(r, 401, "unauthenticated")
    assert r.headers["WWW-Authenticate"] == "Bearer"
    r = await client.get("/api/v1/me", headers=bearer("not-a-jwt"))
    assert_problem(r, 401, "invalid_token")

    settings = client._transport.app.state.settings  # type: ignore[attr-defined]
    me = (await client.get("/api/v1/me", headers=await api.admin())).json()
    past = utcnow() - timedelta(minutes=5)
    expired = jwt.encode(
        {"sub": me["id"], "iat": past - timedelta(hours=1), "exp": past, "typ": "access"},
        settings.secret_key.get_secret_value(),
        algorithm="HS256",
    )
    assert_problem(await client.get("/api/v1/me", headers=bearer(expired)), 401, "invalid_token")
    forged = jwt.encode(
        {"sub": me["id"], "iat": utcnow(), "exp": utcnow() + timedelta(hours=1), "typ": "access"},
        "another-secret-that-is-long-enough-to-sign",
        algorithm="HS256",
    )
    assert_problem(await client.get("/api/v1/me", headers=bearer(forged)), 401, "invalid_token")


async def test_api_keys_for_machine_clients(api: Api) -> None:
    buyer = await api.organization("buyer")
    other = await api.organization("buyer")
    _, admin = await api.member(buyer["id"], role="admin")
    r = await api.client.post(
        f"/api/v1/organizations/{buyer['id']}/api-keys",
        json={"name": "ERP", "role": "staff"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    created = r.json()
    key = created["key"]
    assert key.startswith("mk_")
    assert created["prefix"] in key
    machine = {"X-API-Key": key}

    r = await api.client.get(f"/api/v1/organizations/{buyer['id']}", headers=machine)
    assert r.status_code == 200
    assert r.json()["id"] == buyer["id"]
    # the key acts for its own organisation only
    r = await api.client.get(f"/api/v1/organizations/{other['id']}", headers=machine)
    assert_problem(r, 404, "organization_not_found")
    # a staff key cannot manage members, and a key is not a person
    r = await api.client.post(
        f"/api/v1/organizations/{buyer['id']}/members",
        json={"email": "x@minga.ec", "full_name": "X", "password": PASSWORD, "role": "staff"},
        headers=machine,
    )
    assert_problem(r, 403, "insufficient_role")
    assert_problem(await api.client.get("/api/v1/me", headers=machine), 403, "user_required")

    listed = await api.client.get(f"/api/v1/organizations/{buyer['id']}/api-keys", headers=admin)
    assert [k["id"] for k in listed.json()["items"]] == [created["id"]]
    assert "key" not in listed.json()["items"][0]

    r = await api.client.delete(
        f"/api/v1/organizations/{buyer['id']}/api-keys/{created['id']}", headers=admin
    )
    assert r.status_code == 204
    r = await api.client.get(f"/api/v1/organizations/{buyer['id']}", headers=machine)
    assert_problem(r, 401, "invalid_token")
    r = await api.client.get(
        f"/api/v1/organizations/{buyer['id']}", headers={"X-API-Key": "mk_garbage"}
    )
    assert_problem(r, 401, "invalid_token")

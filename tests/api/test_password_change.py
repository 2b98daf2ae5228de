"""A person changes their own password (``POST /me/password``): the current one is asked,
the policy applies, and every token issued before stops working."""

from __future__ import annotations

import asyncio

from tests.utils import PASSWORD, Api, assert_problem

URL = "/api/v1/me/password"
NEW = "páramo-de-cotopaxi-7"


async def test_a_changed_password_ends_the_old_sessions(api: Api) -> None:
    buyer = await api.organization("buyer")
    member, old = await api.member(buyer["id"], role="staff")
    email = member["email"]
    other_device = await api.login(email)
    await asyncio.sleep(1.1)  # tokens count in whole seconds: the change is a later one

    r = await api.client.post(
        URL, json={"current_password": PASSWORD, "new_password": NEW}, headers=old
    )
    assert r.status_code == 200, r.text
    fresh = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert (await api.client.get("/api/v1/me", headers=fresh)).status_code == 200
    for stale in (old, other_device):
        r = await api.client.get("/api/v1/me", headers={**stale, "Accept-Language": "en"})
        problem = assert_problem(r, 401, "invalid_token")
        assert "log in again" in problem["detail"]

    r = await api.client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert_problem(r, 401, "invalid_credentials")
    assert (await api.login(email, NEW))["Authorization"].startswith("Bearer ")


async def test_the_current_password_and_the_policy_are_checked(api: Api) -> None:
    buyer = await api.organization("buyer")
    member, headers = await api.member(buyer["id"], role="staff")
    r = await api.client.post(
        URL, json={"current_password": "not-it-at-all-9", "new_password": NEW}, headers=headers
    )
    problem = assert_problem(r, 422, "current_password_wrong")
    assert problem["errors"][0]["field"] == "current_password"
    r = await api.client.post(
        URL,
        json={"current_password": PASSWORD, "new_password": "password"},
        headers={**headers, "Accept-Language": "es"},
    )
    problem = assert_problem(r, 422, "weak_password")
    assert problem["errors"][0]["field"] == "new_password"
    r = await api.client.post(
        URL,
        json={"current_password": "not-it-at-all-9", "new_password": NEW},
        headers={**headers, "Accept-Language": "es"},
    )
    assert_problem(r, 422, "current_password_wrong")
    assert r.json()["title"] == "La contraseña actual no es correcta"
    # nothing changed: the old password and the token still work
    assert (await api.client.get("/api/v1/me", headers=headers)).status_code == 200
    await api.login(member["email"])


async def test_guessing_through_a_token_is_throttled(api: Api) -> None:
    buyer = await api.organization("buyer")
    _, headers = await api.member(buyer["id"], role="staff")
    wrong = {"current_password": "not-it-at-all-9", "new_password": NEW}
    codes = [
        (await api.client.post(URL, json=wrong, headers=headers)).status_code for _ in range(7)
    ]
    # tests/conftest.py allows 5 failures per account and address
    assert codes[:5] == [422] * 5
    r = await api.client.post(URL, json=wrong, headers=headers)
    assert_problem(r, 429, "login_throttled")
    assert int(r.headers["Retry-After"]) >= 1


async def test_only_a_person_changes_a_password(api: Api) -> None:
    buyer = await api.organization("buyer")
    _, admin = await api.member(buyer["id"], role="admin")
    r = await api.client.post(
        f"/api/v1/organizations/{buyer['id']}/api-keys",
        json={"name": "ERP", "role": "staff"},
        headers=admin,
    )
    machine = {"X-API-Key": r.json()["key"]}
    body = {"current_password": PASSWORD, "new_password": NEW}
    assert_problem(await api.client.post(URL, json=body, headers=machine), 403, "user_required")
    assert_problem(await api.client.post(URL, json=body), 401, "unauthenticated")
    r = await api.client.post(URL, json={"new_password": NEW}, headers=admin)
    assert r.status_code == 422

"""The password policy (issue 11), wherever a password is set: at least 10 characters, not a
common password, not made of the account's e-mail; refused as 422 ``weak_password`` with the
reason."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from typer.testing import CliRunner

from app.accounts.passwords import WeakPassword, common_passwords, weakness
from app.cli import app as cli
from app.main import bootstrap
from tests.utils import ADMIN_EMAIL, ADMIN_PASSWORD, PASSWORD, Api, assert_problem

WEAK = [
    ("short-1", "at least 10"),
    ("1234567890", "common"),
    ("qwerty123456", "common"),
    ("Password2026!", "common"),
    ("P@ssw0rd-2026", "common"),
    ("Contraseña123", "common"),
    ("iloveyou!!!!", "common"),
    ("aaaaaaaaaaaa", "different characters"),
    ("abababababab", "different characters"),
    ("rosa.quispe-2026", "e-mail"),
    ("my-ROSA.QUISPE@minga.ec", "e-mail"),
]


@pytest.mark.parametrize(("password", "reason"), WEAK)
async def test_a_weak_password_is_refused_with_its_reason(
    api: Api, password: str, reason: str
) -> None:
    org = await api.organization()
    r = await api.client.post(
        f"/api/v1/organizations/{org['id']}/members",
        json={
            "email": "rosa.quispe@minga.ec",
            "full_name": "Rosa Quispe",
            "password": password,
            "role": "staff",
        },
        headers=await api.admin(),
    )
    body = assert_problem(r, 422, "weak_password")
    assert reason in body["detail"]
    assert body["errors"] == [{"field": "password", "detail": body["detail"]}]
    r = await api.client.post(
        "/api/v1/auth/token", data={"username": "rosa.quispe@minga.ec", "password": password}
    )
    assert r.status_code == 401  # no account was made


async def test_a_weak_password_is_refused_for_an_existing_account_too(api: Api) -> None:
    """Otherwise the answer would tell who has an account."""
    first, second = await api.organization(), await api.organization()
    member, _ = await api.member(first["id"], role="staff")
    r = await api.client.post(
        f"/api/v1/organizations/{second['id']}/members",
        json={
            "email": member["email"],
            "full_name": "Ana",
            "password": "123456789012",
            "role": "staff",
        },
        headers=await api.admin(),
    )
    assert_problem(r, 422, "weak_password")


async def test_good_passwords_are_taken(api: Api) -> None:
    org = await api.organization()
    for n, password in enumerate([PASSWORD, "tres llamas en el páramo", "Quinua-Roja-Pujilí-7"]):
        email = f"good{n}@minga.ec"
        r = await api.client.post(
            f"/api/v1/organizations/{org['id']}/members",
            json={"email": email, "full_name": "Ana", "password": password, "role": "staff"},
            headers=await api.admin(),
        )
        assert r.status_code == 201, r.text
        await api.login(email, password)


async def test_the_schema_documents_the_policy(api: Api) -> None:
    spec = (await api.client.get("/api/v1/openapi.json")).json()
    password = spec["components"]["schemas"]["MemberCreate"]["properties"]["password"]
    assert password["minLength"] == 10
    assert "weak_password" in password["description"]


async def test_the_first_admin_must_have_a_strong_password(
    app: FastAPI, api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = app.state.settings
    monkeypatch.setattr(settings, "first_admin_email", "boss@minga.ec")
    monkeypatch.setattr(settings, "first_admin_password", SecretStr("boss-is-here-1"))
    with pytest.raises(WeakPassword, match="e-mail"):
        await bootstrap(app)
    r = await api.client.post(
        "/api/v1/auth/token", data={"username": "boss@minga.ec", "password": "boss-is-here-1"}
    )
    assert r.status_code == 401
    # an admin that already exists keeps its password: the policy is for new ones
    monkeypatch.setattr(settings, "first_admin_email", ADMIN_EMAIL)
    monkeypatch.setattr(settings, "first_admin_password", SecretStr("short"))
    await bootstrap(app)
    await api.login(ADMIN_EMAIL, ADMIN_PASSWORD)


def test_admin_create_refuses_a_weak_password() -> None:
    result = CliRunner().invoke(
        cli, ["admin", "create", "--email", "boss@minga.ec", "--password", "qwerty123456"]
    )
    assert result.exit_code == 2, result.output
    assert "common" in result.output


def test_the_suite_and_demo_passwords_pass() -> None:
    from app.cli import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD
    from app.demo.data import DEMO_PASSWORD

    assert weakness(PASSWORD, email="person1@minga.ec") is None
    assert weakness(ADMIN_PASSWORD, email=ADMIN_EMAIL) is None
    assert weakness(DEMO_ADMIN_PASSWORD, email=DEMO_ADMIN_EMAIL) is None
    assert weakness(DEMO_PASSWORD, email="red@demo.minga.ec") is None
    assert len(common_passwords()) > 400

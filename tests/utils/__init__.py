"""Factories that build test data through the HTTP API, as clients would."""

from __future__ import annotations

import itertools
import random
from typing import Any

import httpx
from stdnum.co import nit
from stdnum.ec import ci

ADMIN_EMAIL = "root@minga.ec"
ADMIN_PASSWORD = "platform-keeper-123"  # not containing "root", the e-mail's name part
PASSWORD = "a-good-password-1"

_rng = random.Random(2026)
_counter = itertools.count(1)


def ecuador_ruc() -> str:
    """A valid Ecuadorian RUC of a natural person (a valid cédula + 001), unique per run."""
    while True:
        body = f"{_rng.randint(1, 24):02d}{_rng.randint(0, 5)}{_rng.randint(0, 999999):06d}"
        for check in range(10):
            if ci.is_valid(body + str(check)):
                return f"{body}{check}001"


def colombia_nit() -> str:
    while True:
        body = f"{_rng.randint(800000000, 999999999)}"
        for check in range(10):
            if nit.is_valid(body + str(check)):
                return body + str(check)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Api:
    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self._admin: dict[str, str] | None = None

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        r = await self.client.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        )
        assert r.status_code == 200, r.text
        return bearer(r.json()["access_token"])

    async def admin(self) -> dict[str, str]:
        if self._admin is None:
            self._admin = await self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        return self._admin

    async def organization(self, kind: str = "association", **fields: Any) -> dict[str, Any]:
        n = next(_counter)
        body: dict[str, Any] = {
            "kind": kind,
            "name": f"{kind.title()} {n}",
            "tax_id": ecuador_ruc(),
            "country": "EC",
            "province": "Cotopaxi",
            "canton": "Latacunga",
            "parish": "Mulaló",
            "latitude": -0.78,
            "longitude": -78.58,
        }
        if kind == "buyer":
            body["buyer_type"] = "restaurant"
        body.update(fields)
        r = await self.client.post("/api/v1/organizations", json=body, headers=await self.admin())
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    async def member(
        self, organization_id: str, role: str = "admin", email: str | None = None
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """Add a member (as the platform admin) and return it with its login headers."""
        email = email or f"person{next(_counter)}@minga.ec"
        r = await self.client.post(
            f"/api/v1/organizations/{organization_id}/members",
            json={"email": email, "full_name": "Ana Toapanta", "password": PASSWORD, "role": role},
            headers=await self.admin(),
        )
        assert r.status_code == 201, r.text
        return r.json(), await self.login(email)


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert body["title"]
    assert body["detail"]
    assert body["type"]
    return body

"""Headers on every answer (issue 11): ``X-Content-Type-Options: nosniff`` whoever produced
the answer, and a 405's ``Allow`` naming every method of the path."""

from __future__ import annotations

import httpx
import pytest

from app.api import health
from tests.utils import Api


async def test_every_answer_says_nosniff(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    client = api.client
    headers = await api.admin()
    answers = {
        "ok": await client.get("/api/v1/me", headers=headers),
        "health": await client.get("/healthz"),
        "openapi": await client.get("/api/v1/openapi.json"),
        "metrics": await client.get("/metrics"),
        "401": await client.get("/api/v1/me"),
        "404 route": await client.get("/api/v1/no-such-thing"),
        "404 object": await client.get("/api/v1/organizations/nobody", headers=headers),
        "405": await client.delete("/api/v1/me"),
        "413": await client.post(
            "/api/v1/organizations", json={"name": "x" * (2 * 1024 * 1024)}, headers=headers
        ),
        "422": await client.post("/api/v1/organizations", json={}, headers=headers),
        "csv": await client.get("/api/v1/invoices.csv", headers=headers),
    }

    # an unexpected failure: its 500 leaves through Starlette's outermost middleware
    def broken(**_: object) -> None:
        raise RuntimeError("an unexpected failure")

    monkeypatch.setattr(health, "Health", broken)
    answers["500"] = await client.get("/healthz")
    assert answers["500"].status_code == 500
    for name, r in answers.items():
        assert r.headers.get("x-content-type-options") == "nosniff", (name, r.status_code)
        assert r.headers.get_list("x-content-type-options") == ["nosniff"], name


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/organizations", {"GET", "POST"}),
        ("PUT", "/api/v1/products/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", {"GET", "PATCH"}),
        ("POST", "/api/v1/me", {"GET", "PATCH"}),
    ],
)
async def test_a_405_allows_every_method_of_the_path(
    client: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    r = await client.request(method, path)
    assert r.status_code == 405
    assert r.json()["code"] == "method_not_allowed"
    assert set(r.headers["allow"].split(", ")) == allowed

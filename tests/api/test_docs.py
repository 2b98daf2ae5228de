"""The documentation works with no internet, reads as written for people, and names its
operations the way a generated client should (issue 12)."""

from __future__ import annotations

import re

import httpx
import pytest

from app.api.docs import OPERATION_ID_SHAPE, SUMMARIES, default_summary

METHODS = {"get", "put", "post", "delete", "patch"}


def references(html: str) -> list[str]:
    """Every address inside the app that the page loads or links (``src``, ``href``, ReDoc's
    ``spec-url``, Swagger UI's ``url``): the quoted absolute paths."""
    return re.findall(r"""["'](/[^"'\s]*)["']""", html)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_docs_load_from_the_app_alone(client: httpx.AsyncClient, page: str) -> None:
    r = await client.get(page)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?://", r.text), "the page names an address outside the app"
    loaded = [ref for ref in references(r.text) if ref.startswith("/")]
    assert "/api/v1/openapi.json" in loaded
    assets = [ref for ref in loaded if ref.startswith("/static/")]
    assert assets, r.text
    for asset in assets:
        answer = await client.get(asset)
        assert answer.status_code == 200, asset
        if asset.endswith((".js", ".css")):
            assert len(answer.content) > 100_000, asset  # the real bundle, not a stand-in
    if page == "/docs":
        assert "/docs/oauth2-redirect" in r.text
        redirect = await client.get("/docs/oauth2-redirect")
        assert redirect.status_code == 200
        assert not re.search(r"https?://", redirect.text)


async def test_the_assets_are_cacheable(client: httpx.AsyncClient) -> None:
    r = await client.get("/static/redoc/redoc.standalone.js")
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0] in {"text/javascript", "application/javascript"}
    again = await client.get(
        "/static/redoc/redoc.standalone.js", headers={"If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304


async def test_operation_ids_are_camel_case_and_unique(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/api/v1/openapi.json")).json()
    ids = [
        op["operationId"]
        for item in schema["paths"].values()
        for method, op in item.items()
        if method in METHODS
    ]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert [i for i in ids if not OPERATION_ID_SHAPE.match(i)] == []
    assert schema["paths"]["/api/v1/orders"]["post"]["operationId"] == "placeOrder"
    assert schema["paths"]["/api/v1/auth/token"]["post"]["operationId"] == "login"


async def test_every_operation_has_a_summary_written_for_people(
    client: httpx.AsyncClient,
) -> None:
    schema = (await client.get("/api/v1/openapi.json")).json()
    operations = {
        op["operationId"]: op
        for item in schema["paths"].values()
        for method, op in item.items()
        if method in METHODS
    }
    generated = [
        f"{oid}: {op.get('summary')!r}"
        for oid, op in operations.items()
        if not op.get("summary") or op["summary"] == default_summary(oid)
    ]
    assert generated == [], "say what these do, in app/api/docs.py SUMMARIES or summary="
    assert operations["placeOrder"]["summary"] == "Place an order"
    # every entry of SUMMARIES is used: none names an operation that is gone or that says
    # its own summary in its route
    unused = [oid for oid in SUMMARIES if operations.get(oid, {}).get("summary") != SUMMARIES[oid]]
    assert unused == []


async def test_the_description_starts_a_new_integrator(client: httpx.AsyncClient) -> None:
    description = (await client.get("/api/v1/openapi.json")).json()["info"]["description"]
    assert "## Start here" in description
    steps = ["POST /auth/token", "GET /me", "GET /cycles", "GET /skus", "POST /orders"]
    positions = [description.index(step) for step in steps]
    assert positions == sorted(positions), "the calls are told in the order they are made"
    schema = (await client.get("/api/v1/openapi.json")).json()
    for step in steps:
        method, path = step.split()
        assert any(
            p == f"/api/v1{path}" and method.lower() in item for p, item in schema["paths"].items()
        ), step

"""The limits that protect the service, each answered as a problem: text lengths, numeric
ranges, list sizes, page sizes, body and upload sizes, and characters a database refuses."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.utils import Api, assert_problem, ecuador_ruc

MIB = 1024 * 1024


def organization(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "association",
        "name": "Asociación Sabores de Mulaló",
        "tax_id": ecuador_ruc(),
        "country": "EC",
        "province": "Cotopaxi",
        "canton": "Latacunga",
        "parish": "Mulaló",
        "latitude": -0.78,
        "longitude": -78.58,
    }
    return body | fields


def fields_of(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body["errors"]}


async def test_an_overlong_name_is_a_422(api: Api) -> None:
    r = await api.client.post(
        "/api/v1/organizations", json=organization(name="n" * 201), headers=await api.admin()
    )
    assert "name" in fields_of(assert_problem(r, 422, "validation_error"))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", "Ana\x00Toapanta"),  # PostgreSQL cannot store NUL in text
        ("name", "Ana\x07"),  # a control character no person types
        ("parish", "\ud800"),  # an unpaired surrogate cannot be encoded at all
    ],
)
async def test_forbidden_characters_are_a_422(api: Api, field: str, value: str) -> None:
    r = await api.client.post(
        "/api/v1/organizations",
        content=json.dumps(organization(**{field: value})),  # escapes as JSON clients would
        headers={**(await api.admin()), "Content-Type": "application/json"},
    )
    body = assert_problem(r, 422, "validation_error")
    assert field in fields_of(body)


async def test_line_breaks_and_tabs_stay_allowed(api: Api) -> None:
    org = await api.organization()
    r = await api.client.post(
        "/api/v1/brands",
        json={"network_id": org["id"], "name": "Marca", "slug": "marca", "story": "a\n\tb\r\n"},
        headers=await api.admin(),
    )
    assert r.status_code != 422, r.text


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/organizations/abc%00def",  # a path id
        "/api/v1/products?q=queso%00",  # a free-text query
        "/api/v1/audit-events?object_id=%01",
    ],
)
async def test_forbidden_characters_in_parameters_are_a_422(api: Api, path: str) -> None:
    r = await api.client.get(path, headers=await api.admin())
    assert_problem(r, 422, "validation_error")


async def test_login_fields_are_capped_and_checked(client: httpx.AsyncClient) -> None:
    for username in ("a" * 255 + "@minga.ec", "root\x00@minga.ec"):
        r = await client.post(
            "/api/v1/auth/token", data={"username": username, "password": "whatever-1"}
        )
        assert "username" in fields_of(assert_problem(r, 422, "validation_error"))


@pytest.mark.parametrize(
    "quantity",
    ["1000000.001", "-1", "0", "1.0001", "NaN", "Infinity", "1e400", 10**30],
)
async def test_quantities_out_of_range_are_a_422(api: Api, quantity: Any) -> None:
    r = await api.client.post(
        "/api/v1/products",
        json={
            "association_id": "nobody",
            "name": "Queso",
            "category": "dairy",
            "unit": "kg",
            "pack_size": quantity,
            "storage": "chilled",
            "origin": {
                "parish": "Mulaló",
                "canton": "Latacunga",
                "province": "Cotopaxi",
                "latitude": -0.7,
                "longitude": -78.57,
            },
        },
        headers=await api.admin(),
    )
    assert "pack_size" in fields_of(assert_problem(r, 422, "validation_error"))


@pytest.mark.parametrize("cents", [0, -5, 100_000_001, 2**63, 10**40])
async def test_prices_out_of_range_are_a_422(api: Api, cents: int) -> None:
    r = await api.client.post(
        "/api/v1/brands/nobody/skus",
        json={
            "name": "Queso",
            "category": "dairy",
            "unit": "unit",
            "pack_size": "1",
            "producer_price_cents": cents,
            "tiers": [{"min_quantity": "0", "unit_price_cents": 400}],
        },
        headers=await api.admin(),
    )
    assert "producer_price_cents" in fields_of(assert_problem(r, 422, "validation_error"))


async def test_too_many_list_items_are_a_422(api: Api) -> None:
    r = await api.client.post(
        "/api/v1/orders",
        json={
            "buyer_id": "b",
            "cycle_id": "c",
            "lines": [{"sku_id": f"s{i}", "quantity": "1"} for i in range(101)],
            "payment_method": "invoice",
        },
        headers=await api.admin(),
    )
    assert "lines" in fields_of(assert_problem(r, 422, "validation_error"))


@pytest.mark.parametrize("limit", [0, 201, 10**20])
async def test_page_size_is_capped(api: Api, limit: int) -> None:
    r = await api.client.get(f"/api/v1/organizations?limit={limit}", headers=await api.admin())
    assert "limit" in fields_of(assert_problem(r, 422, "validation_error"))


async def test_the_largest_page_is_served(api: Api) -> None:
    r = await api.client.get("/api/v1/organizations?limit=200", headers=await api.admin())
    assert r.status_code == 200, r.text


async def test_a_json_body_over_a_mebibyte_is_a_413(api: Api) -> None:
    r = await api.client.post(
        "/api/v1/organizations",
        json=organization(name="n" * MIB),
        headers=await api.admin(),
    )
    assert_problem(r, 413, "payload_too_large")


async def test_a_multipart_body_over_the_upload_cap_is_a_413(api: Api, app: FastAPI) -> None:
    cap = app.state.settings.max_multipart_bytes
    r = await api.client.post(
        "/api/v1/products/nobody/images",
        files={"file": ("big.png", b"\x89PNG" + bytes(cap), "image/png")},
        headers=await api.admin(),
    )
    assert_problem(r, 413, "payload_too_large")


async def test_an_image_over_its_cap_is_a_413(api: Api, app: FastAPI, tmp_path: Any) -> None:
    org = await api.organization()
    _, staff = await api.member(org["id"], role="staff")
    from tests.catalog.helpers import PNG, sheet

    r = await api.client.post("/api/v1/products", json=sheet(org["id"]), headers=staff)
    assert r.status_code == 201, r.text
    settings = app.state.settings
    big = PNG + bytes(settings.max_upload_bytes)
    r = await api.client.post(
        f"/api/v1/products/{r.json()['id']}/images",
        files={"file": ("big.png", big, "image/png")},
        headers=staff,
    )
    assert_problem(r, 413, "file_too_large")


def _unbounded(schema: dict[str, Any], components: dict[str, Any], where: str) -> list[str]:
    """Request fields of the OpenAPI document without a bound."""
    found: list[str] = []
    seen: set[str] = set()

    def walk(node: dict[str, Any], at: str) -> None:
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                walk(components[name], name)
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in node.get(key, []):
                walk(sub, at)
        kind = node.get("type")
        bounded_text = {"maxLength", "enum", "const", "pattern", "contentMediaType"} & set(node)
        dated = node.get("format") in ("date", "date-time")
        if kind == "string" and not bounded_text and not dated:
            found.append(f"{at}: text without maxLength")
        if kind in ("integer", "number") and not {"maximum", "exclusiveMaximum"} & set(node):
            found.append(f"{at}: number without maximum")
        if kind == "array":
            if "maxItems" not in node:
                found.append(f"{at}: list without maxItems")
            walk(node.get("items", {}), f"{at}[]")
        for name, sub in node.get("properties", {}).items():
            walk(sub, f"{at}.{name}")

    walk(schema, where)
    return found


async def test_every_request_field_has_a_bound(app: FastAPI) -> None:
    spec = app.openapi()
    components = spec["components"]["schemas"]
    found: list[str] = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            where = f"{method.upper()} {path}"
            for param in op.get("parameters", []):
                found += _unbounded(param["schema"], components, f"{where} {param['name']}")
            for media in op.get("requestBody", {}).get("content", {}).values():
                found += _unbounded(media.get("schema", {}), components, f"{where} body")
    assert found == []


async def test_every_problem_is_documented_as_one(app: FastAPI) -> None:
    spec = app.openapi()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            responses = op["responses"]
            if "requestBody" in op:
                assert {"400", "413", "422"} <= set(responses), (method, path)
            if op.get("security"):
                assert "401" in responses, (method, path)
            for status, response in responses.items():
                if int(status) >= 400 and path.startswith("/api/"):
                    assert list(response["content"]) == ["application/problem+json"], (path, status)

"""Quantities and ids have one spelling (issue 11): a quantity is ASCII digits with at most
one point and three places, an id is an opaque URL-safe token; anything else is a 422 that
says so, and the OpenAPI document shows the pattern."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from app.core.quantity import POSITIVE_TEXT_PATTERN
from tests.brands.conftest import net  # noqa: F401 - the fixtures these tests build on
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market, market  # noqa: F401
from tests.utils import Api, assert_problem

PATTERN = r"^[0-9]{1,7}(\.[0-9]{1,3})?$"
REFUSED = [
    " 5 ",
    "5 ",
    "\u0661\u0662",  # Arabic-Indic twelve
    "\uff15",  # full-width five
    "5e2",
    "1E3",
    "1_000",
    "1,5",
    "+5",
    "-5",
    "5.",
    ".5",
    "5.5.5",
    "0.1255",
    "5\n",
    "",
    "0x10",
    "NaN",
    "Infinity",
]


async def _vehicle(f: Floor, capacity: Any) -> httpx.Response:
    return await f.client.post(
        f"/api/v1/collection-centres/{f.m.centre['id']}/vehicles",
        json={"name": "Camioneta", "capacity_kg": capacity},
        headers=f.admin,
    )


async def test_a_quantity_spelled_otherwise_is_a_422(market: Market) -> None:  # noqa: F811
    f = await Floor.start(market)
    for text in REFUSED:
        body = assert_problem(await _vehicle(f, text), 422, "validation_error")
        [error] = body["errors"]
        assert error["field"] == "capacity_kg", text
        assert "ASCII" in error["detail"], text  # "ASCII digits" / "dígitos ASCII"
        # the same rule wherever a quantity is read: an order line
        body = assert_problem(await market.order(text), 422, "validation_error")
        assert [e["field"] for e in body["errors"]] == ["lines.0.quantity"], text


async def test_plain_decimals_and_json_numbers_still_work(market: Market) -> None:  # noqa: F811
    f = await Floor.start(market)
    for given, stored in [
        ("5", "5.000"),
        ("5.5", "5.500"),
        ("0.125", "0.125"),
        ("1000000", "1000000.000"),
        (5, "5.000"),
        (0.125, "0.125"),
    ]:
        r = await _vehicle(f, given)
        assert r.status_code == 201, r.text
        assert r.json()["capacity_kg"] == stored
    for given, placed in (("5", "5.000"), (5, "5.000"), ("2.000", "2.000")):
        line = {"sku_id": market.sku["id"], "quantity": given}
        r = await market.order(lines=[line])
        assert r.status_code == 201, r.text
        assert r.json()["lines"][0]["quantity"] == placed


async def test_the_schema_shows_the_quantity_pattern(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    vehicle = spec["components"]["schemas"]["VehicleCreate"]["properties"]["capacity_kg"]
    [text] = [form for form in vehicle["anyOf"] if form["type"] == "string"]
    # PATTERN within the bounds: above 0 (a capacity) and at most 1 000 000
    assert text["pattern"] == POSITIVE_TEXT_PATTERN
    assert re.fullmatch(text["pattern"], "12.500")
    assert not re.fullmatch(text["pattern"], "\u0661\u0662")
    assert not re.fullmatch(text["pattern"], "0.000")
    assert not re.fullmatch(text["pattern"], "1000000.001")


@pytest.mark.parametrize(
    "bad_id",
    ["bad id", "x.y", "\u0661\u0662", "a" * 37, "%22quoted%22", "semi;colon", "tab%09id"],
)
async def test_a_malformed_id_is_a_422(api: Api, bad_id: str) -> None:
    headers = await api.admin()
    r = await api.client.get(f"/api/v1/organizations/{bad_id}", headers=headers)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["field"] == "organization_id"
    r = await api.client.get("/api/v1/invoices", params={"buyer_id": bad_id}, headers=headers)
    assert_problem(r, 422, "validation_error")


async def test_an_unknown_but_well_formed_id_is_still_a_404(api: Api) -> None:
    headers = await api.admin()
    for unknown in ("no-such-org", "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"):
        r = await api.client.get(f"/api/v1/organizations/{unknown}", headers=headers)
        assert_problem(r, 404, "organization_not_found")


async def test_the_schema_shows_the_id_pattern(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/api/v1/openapi.json")).json()
    [param] = spec["paths"]["/api/v1/organizations/{organization_id}"]["get"]["parameters"]
    assert param["schema"]["pattern"] == "^[A-Za-z0-9_-]{1,36}$"
    [buyer] = [
        p for p in spec["paths"]["/api/v1/invoices"]["get"]["parameters"] if p["name"] == "buyer_id"
    ]
    assert "^[A-Za-z0-9_-]{1,36}$" in str(buyer["schema"])

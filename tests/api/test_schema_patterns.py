"""What the OpenAPI document calls valid is what the validation takes (issue 11, schemathesis'
positive_data_acceptance and negative_data_rejection): the patterns it publishes for texts,
quantities and temperatures agree with pydantic on every string tried, and the app answers
as the document says where the two could part (Allow, cursors, JSON's numbers and booleans).
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from app.brands.schemas import BrandCreate
from app.core.quantity import POSITIVE_TEXT_PATTERN, TEXT_PATTERN, PositiveQuantity, Quantity
from app.core.schemas import Strict
from app.fulfilment.schemas import TEMPERATURE_PATTERN, ReceiptLineIn, Temperature, VehicleCreate
from tests.utils import Api, assert_problem

# white space that stripping takes and that it does not, controls, other scripts, astral
TRICKY = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x85", "\xa0", "\u2003", "\u3000", "\u200b"]
TRICKY += ["\ufeff", "\x00", "\x1c", "\x1f", "\x7f", "a", "Z", "0", "-", ".", "é", "😀"]
texts = st.text(alphabet=st.sampled_from(TRICKY), max_size=12)


def _field_schema(model: type[BaseModel], field: str) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema()["properties"][field]
    [text] = [arm for arm in schema.get("anyOf", [schema]) if arm.get("type") == "string"]
    return dict(text)


def _schema_says(schema: dict[str, Any], value: str) -> bool:
    return re.fullmatch(schema["pattern"], value) is not None and schema.get("minLength", 0) <= len(
        value
    ) <= schema.get("maxLength", len(value))


def _takes(model: type[Strict], **body: Any) -> bool:
    try:
        model(**body)
    except ValidationError:
        return False
    return True


@settings(max_examples=400, deadline=None)
@given(value=texts)
def test_a_stripped_name_is_valid_where_the_schema_says(value: str) -> None:
    schema = _field_schema(VehicleCreate, "name")  # stripped, then 1 to 100 characters
    assert "maxLength" not in schema  # the raw text may be longer than what is measured
    assert _schema_says(schema, value) == _takes(VehicleCreate, name=value, capacity_kg="1")


@settings(max_examples=400, deadline=None)
@given(value=texts)
def test_a_free_text_is_valid_where_the_schema_says(value: str) -> None:
    schema = _field_schema(BrandCreate, "story")  # kept as sent, at most 5000
    body = {"network_id": "n", "name": "Red", "slug": "red", "story": value}
    assert _schema_says(schema, value) == _takes(BrandCreate, **body)


@settings(max_examples=400, deadline=None)
@given(value=texts)
def test_a_stripped_lot_code_is_valid_where_the_schema_says(value: str) -> None:
    schema = _field_schema(ReceiptLineIn, "lot_code")
    body = {"sku_id": "s", "accepted_quantity": "1", "lot_code": value}
    assert _schema_says(schema, value) == _takes(ReceiptLineIn, **body)


class _Quantities(Strict):
    any: Quantity | None = None
    positive: PositiveQuantity | None = None
    degrees: Temperature | None = None


decimals = st.text(alphabet=st.sampled_from("0000123456789.-"), min_size=1, max_size=12)


@settings(max_examples=600, deadline=None)
@given(value=decimals)
def test_quantities_and_temperatures_spelled_as_the_schema_says(value: str) -> None:
    for field, pattern, length in (
        ("any", TEXT_PATTERN, 11),
        ("positive", POSITIVE_TEXT_PATTERN, 11),
        ("degrees", TEMPERATURE_PATTERN, 5),
    ):
        says = re.fullmatch(pattern, value) is not None and len(value) <= length
        assert says == _takes(_Quantities, **{field: value}), (field, value)


@settings(max_examples=300, deadline=None)
@given(thousandths=st.integers(min_value=0, max_value=1_000_000_000))
def test_every_multiple_of_a_thousandth_is_a_quantity(thousandths: int) -> None:
    """The number form: ``multipleOf: 0.001``, as a JSON number (a float) carries it."""
    assert _takes(_Quantities, any=thousandths / 1000)


async def test_a_405_names_the_methods_of_the_literal_path(client: httpx.AsyncClient) -> None:
    """``/products/import`` also fits ``/products/{product_id}`` (GET and PATCH, which answer
    401 or 404 there: no sheet has the id "import"); only POST imports."""
    for method in ("OPTIONS", "DELETE", "PUT"):
        r = await client.request(method, "/api/v1/products/import")
        assert r.status_code == 405, (method, r.status_code)
        assert r.headers["allow"] == "POST"


async def test_a_cursor_the_service_did_not_give_is_its_own_problem(api: Api) -> None:
    headers = await api.admin()
    # the alphabet of cursors, but no key in it (base64 of bytes that are not text)
    r = await api.client.get("/api/v1/organizations", params={"cursor": "__8"}, headers=headers)
    assert_problem(r, 422, "invalid_cursor")
    spec = (await api.client.get("/api/v1/openapi.json")).json()
    answers = spec["paths"]["/api/v1/organizations"]["get"]["responses"]["422"]
    assert "`invalid_cursor`" in answers["description"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("latitude", "1.5"), ("latitude", True), ("members_total", "5"), ("members_total", False)],
)
async def test_numbers_in_a_body_are_json_numbers(api: Api, field: str, value: Any) -> None:
    body = {
        "kind": "association",
        "name": "Asociación",
        "tax_id": "1710034065001",
        "country": "EC",
        "province": "Cotopaxi",
        "canton": "Latacunga",
        "parish": "Mulaló",
        "latitude": -0.78,
        "longitude": -78.58,
        field: value,
    }
    r = await api.client.post("/api/v1/organizations", json=body, headers=await api.admin())
    problem = assert_problem(r, 422, "validation_error")
    assert problem["errors"][0]["field"] == field

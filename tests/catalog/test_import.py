"""Bulk import of sheets from CSV: all rows or none, every bad row named by its line."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx

from app.catalog import importer
from tests.catalog.helpers import Catalog, gtin13
from tests.utils import assert_problem

URL = "/api/v1/products/import"


def row(**fields: str) -> dict[str, str]:
    base = {
        "name": "Queso andino",
        "category": "dairy",
        "description": "Queso maduro",
        "story": "",
        "unit": "kg",
        "pack_size": "1.5",
        "variable_weight": "true",
        "shelf_life_days": "60",
        "storage": "chilled",
        "allergens": "leche; cuajo",
        "certifications": "organic:BCS-77:2028-06-30|pgs",
        "sanitary_authority": "ARCSA",
        "sanitary_number": "123-ALN",
        "sanitary_expires_on": "2029-01-31",
        "gtin": gtin13(),
        "origin_parish": "Mulaló",
        "origin_canton": "Latacunga",
        "origin_province": "Cotopaxi",
        "origin_latitude": "-0.7",
        "origin_longitude": "-78.57",
    }
    base.update(fields)
    return base


def to_csv(rows: list[dict[str, str]], columns: list[str] | None = None) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns or importer.COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


async def upload(
    catalog: Catalog, content: bytes, association_id: str | None = None, **kw: Any
) -> httpx.Response:
    return await catalog.client.post(
        URL,
        params={"association_id": association_id or catalog.association["id"]},
        files={"file": ("fichas.csv", content, "text/csv")},
        headers=kw.get("headers", catalog.staff),
    )


async def list_names(catalog: Catalog) -> list[str]:
    r = await catalog.client.get("/api/v1/products", headers=catalog.staff)
    return sorted(p["name"] for p in r.json()["items"])


async def test_import_creates_every_row(catalog: Catalog) -> None:
    content = to_csv(
        [
            row(),
            row(
                name="Harina de haba",
                category="flours",
                certifications="",
                sanitary_authority="",
                sanitary_number="",
                sanitary_expires_on="",
                gtin="",
                allergens="",
                variable_weight="",
                shelf_life_days="",
                storage="ambient",
                unit="lb",
            ),
        ]
    )
    r = await upload(catalog, b"\xef\xbb\xbf" + content)  # a spreadsheet's BOM is fine
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["created"] == 2
    assert len(body["items"]) == 2

    cheese = (
        await catalog.client.get(f"/api/v1/products/{body['items'][0]}", headers=catalog.staff)
    ).json()
    assert cheese["status"] == "draft"
    assert cheese["pack_size"] == "1.500"
    assert cheese["variable_weight"] is True
    assert cheese["allergens"] == ["leche", "cuajo"]
    assert cheese["certifications"] == [
        {"kind": "organic", "number": "BCS-77", "expires_on": "2028-06-30"},
        {"kind": "pgs", "number": None, "expires_on": None},
    ]
    assert cheese["sanitary_registration"]["number"] == "123-ALN"
    assert cheese["origin"]["parish"] == "Mulaló"
    flour = (
        await catalog.client.get(f"/api/v1/products/{body['items'][1]}", headers=catalog.staff)
    ).json()
    assert flour["sanitary_registration"] is None
    assert flour["gtin"] is None
    assert flour["variable_weight"] is False

    r = await catalog.client.get(
        "/api/v1/audit-events",
        params={"organization_id": catalog.association["id"]},
        headers=await catalog.api.admin(),
    )
    imports = [e for e in r.json()["items"] if e["action"] == "product.import"]
    assert imports[0]["changes"]["product_ids"] == [None, body["items"]]


async def test_one_bad_row_imports_nothing_and_every_bad_row_is_named(catalog: Catalog) -> None:
    content = to_csv(
        [
            row(name="Bueno 1"),  # line 2
            row(name="Malo", pack_size="0", gtin="1234567890123"),  # line 3
            row(name="Bueno 2"),  # line 4
            row(name="Peor", category="spaceships", origin_latitude="", unit="bushel"),  # line 5
            row(name="Raro", certifications="gold:1"),  # line 6
        ]
    )
    r = await upload(catalog, content)
    body = assert_problem(r, 422, "import_invalid")
    by_line: dict[str, list[str]] = {}
    for error in body["errors"]:
        by_line.setdefault(error["field"], []).append(error["detail"])
    assert set(by_line) == {"line 3", "line 5", "line 6"}
    assert any(d.startswith("pack_size:") for d in by_line["line 3"])
    assert any(d.startswith("gtin:") for d in by_line["line 3"])
    assert any(d.startswith("unit:") for d in by_line["line 5"])
    assert any(d.startswith("origin_latitude:") for d in by_line["line 5"])
    assert any(d.startswith("certifications[1].kind:") for d in by_line["line 6"])
    assert "3 of 5 rows" in body["detail"]
    assert await list_names(catalog) == []

    # Category errors show once the rest of the row is right.
    r = await upload(catalog, to_csv([row(), row(category="spaceships")]))
    body = assert_problem(r, 422, "import_invalid")
    assert body["errors"] == [
        {"field": "line 3", "detail": "category: unknown category 'spaceships'"}
    ]
    assert await list_names(catalog) == []


async def test_line_numbers_count_quoted_newlines_and_blank_lines(catalog: Catalog) -> None:
    content = to_csv([row(description="Primera línea\nsegunda línea"), row(pack_size="x")])
    content = content.replace(b"\n", b"\n\n", 1)  # a blank line after the header
    body = assert_problem(await upload(catalog, content), 422, "import_invalid")
    assert {e["field"] for e in body["errors"]} == {"line 5"}


async def test_bad_files(catalog: Catalog) -> None:
    cases = [
        (b"", "file"),
        ("nombre,categoría\nQueso,dairy\n".encode(), "header"),
        (to_csv([]), "file"),
        (b"\xff\xfe" + "name".encode("utf-16-le"), "file"),
    ]
    for content, field in cases:
        body = assert_problem(await upload(catalog, content), 422, "import_invalid")
        assert body["errors"][0]["field"] == field, body

    columns = [*importer.COLUMNS, "colour"]
    body = assert_problem(
        await upload(catalog, to_csv([{**row(), "colour": "red"}], columns)), 422, "import_invalid"
    )
    assert body["errors"] == [{"field": "header", "detail": "unknown columns: colour"}]

    r = await upload(catalog, to_csv([row()]) + b"a,b,c," + b"," * 30 + b"\n")
    body = assert_problem(r, 422, "import_invalid")
    assert body["errors"][0]["field"] == "line 3"


async def test_rows_are_capped(catalog: Catalog, monkeypatch: Any) -> None:
    monkeypatch.setattr(importer, "MAX_ROWS", 3)
    body = assert_problem(
        await upload(catalog, to_csv([row() for _ in range(4)])), 422, "import_invalid"
    )
    assert body["errors"] == [{"field": "file", "detail": "at most 3 rows may be imported at once"}]
    r = await upload(catalog, to_csv([row() for _ in range(3)]))
    assert r.status_code == 201
    assert r.json()["created"] == 3


async def test_no_import_into_another_association(catalog: Catalog) -> None:
    r = await upload(catalog, to_csv([row()]), association_id=catalog.other["id"])
    assert_problem(r, 404, "organization_not_found")
    r = await upload(
        catalog,
        to_csv([row()]),
        association_id=catalog.association["id"],
        headers=catalog.other_staff,
    )
    assert_problem(r, 404, "organization_not_found")
    assert await list_names(catalog) == []

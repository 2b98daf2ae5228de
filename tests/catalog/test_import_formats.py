"""The CSV import takes the files people have: Excel's semicolons and Windows-1252, UTF-8
with a BOM, categories by their labels, the template it offers; garbage is a clear 422."""

from __future__ import annotations

import codecs
import csv
import io
import random
from typing import Any

import httpx

from app.catalog import importer
from app.catalog.categories import LABELS, TAXONOMY
from tests.catalog.helpers import PNG, Catalog
from tests.catalog.test_import import row, upload
from tests.utils import assert_problem

TEMPLATE = "/api/v1/products/import-template.csv"


def excel_es(rows: list[dict[str, str]]) -> bytes:
    """As Excel with a Spanish regional setting saves "CSV (delimitado por comas)": semicolons,
    CRLF, minimal quoting, Windows-1252 bytes and no BOM."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=importer.COLUMNS, delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("cp1252")


async def sheet(catalog: Catalog, product_id: str) -> dict[str, Any]:
    r = await catalog.client.get(f"/api/v1/products/{product_id}", headers=catalog.staff)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def imported(catalog: Catalog, content: bytes) -> list[dict[str, Any]]:
    r = await upload(catalog, content)
    assert r.status_code == 201, r.text
    return [await sheet(catalog, product_id) for product_id in r.json()["items"]]


async def test_excel_semicolons_in_windows_1252(catalog: Catalog) -> None:
    content = excel_es(
        [
            row(
                name="Quesillo de Salcedo",
                category="Lácteos",
                description="Elaborado por la familia Peñaherrera; sin conservantes",
                pack_size="0,5",  # Excel's decimal comma
                variable_weight="FALSO",  # what a Spanish Excel writes for a FALSE cell
                allergens="leche; cuajo",  # quoted by Excel: it has the separator
                sanitary_expires_on="31/01/2029",  # day first, as the regional setting shows
                certifications="organic:BCS-77:30/06/2028",
                gtin="",
                origin_parish="San Miguel de Salcedo",
                origin_canton="Salcedo",
                origin_latitude="-1,045",
                origin_longitude="-78,59",
            ),
            row(
                name="Piña en almíbar", category="Mermeladas", gtin="", variable_weight="VERDADERO"
            ),
        ]
    )
    assert b"\r\n" in content
    assert not content.startswith(codecs.BOM_UTF8)
    assert "Lácteos".encode("cp1252") in content  # b"L\xe1cteos": one byte per letter
    assert "ñ".encode("cp1252") in content
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        raise AssertionError("the file must not be valid UTF-8")

    cheese, jam = await imported(catalog, content)
    assert cheese["name"] == "Quesillo de Salcedo"
    assert cheese["category"] == "dairy"
    assert cheese["description"] == "Elaborado por la familia Peñaherrera; sin conservantes"
    assert cheese["pack_size"] == "0.500"
    assert cheese["variable_weight"] is False
    assert cheese["allergens"] == ["leche", "cuajo"]
    assert cheese["sanitary_registration"]["expires_on"] == "2029-01-31"
    assert cheese["certifications"][0]["expires_on"] == "2028-06-30"
    assert cheese["origin"]["parish"] == "San Miguel de Salcedo"
    assert cheese["origin"]["latitude"] == -1.045
    assert cheese["origin"]["longitude"] == -78.59
    assert jam["name"] == "Piña en almíbar"
    assert jam["category"] == "jams"
    assert jam["variable_weight"] is True


async def test_utf8_with_bom_and_commas(catalog: Catalog) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=importer.COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    # semicolons in the cells must not pass for the separator
    writer.writerow(
        row(name="Quesillo de Salcedo", category="Dairy", allergens="leche; cuajo; sal")
    )
    writer.writerow(
        row(name="Harina de maíz ñuto", category="flours", gtin="", allergens="maíz; sal")
    )
    content = out.getvalue().encode("utf-8-sig")
    assert content.startswith(codecs.BOM_UTF8)
    cheese, flour = await imported(catalog, content)
    assert (cheese["name"], cheese["category"]) == ("Quesillo de Salcedo", "dairy")
    assert cheese["allergens"] == ["leche", "cuajo", "sal"]
    assert (flour["name"], flour["category"]) == ("Harina de maíz ñuto", "flours")


async def test_category_by_slug_or_label_in_either_language(catalog: Catalog) -> None:
    written = {
        "Lácteos": "dairy",
        "lacteos": "dairy",
        "  LÁCTEOS ": "dairy",
        "Dairy": "dairy",
        "Frutas y hortalizas": "produce",
        "fruit and vegetables": "produce",
        "Especies menores (cuy, conejo)": "small_livestock",
        "especies menores": "small_livestock",
        "Small livestock": "small_livestock",
        "Condimentos y aliños": "seasonings",
        "condimentos y alinos": "seasonings",
        "andean grains": "andean_grains",
        "Andean-Grains": "andean_grains",
        "Café": "coffee",
    }
    rows = [row(name=f"Producto {n}", category=c, gtin="") for n, c in enumerate(written)]
    sheets = await imported(catalog, excel_es(rows))
    assert [s["category"] for s in sheets] == list(written.values())

    body = assert_problem(
        await upload(catalog, excel_es([row(gtin=""), row(category="Lácteos frescos", gtin="")])),
        422,
        "import_invalid",
    )
    assert body["errors"] == [
        {"field": "line 3", "detail": "category: unknown category 'Lácteos frescos'"}
    ]


def test_every_category_has_an_english_label() -> None:
    assert set(LABELS) == {seed.slug for seed in TAXONOMY}


async def test_the_columns_are_documented_in_the_openapi(catalog: Catalog) -> None:
    schema = (await catalog.client.get("/api/v1/openapi.json")).json()
    description = schema["paths"]["/api/v1/products/import"]["post"]["description"]
    for column in importer.SPEC:
        assert f"| `{column.name}` | {'yes' if column.required else 'no'} |" in description
    assert "`Lácteos`" in description
    assert "`ambient`, `chilled`, `frozen`" in description
    assert "/api/v1/products/import-template.csv" in schema["paths"]


def filled(template: list[list[str]], **fields: str) -> list[list[str]]:
    """The template with its example row filled in by someone."""
    header, example = template
    values = dict(zip(header, example, strict=True)) | fields
    return [header, [values[name] for name in header]]


async def test_the_template_downloads_and_imports_once_filled(catalog: Catalog) -> None:
    r = await catalog.client.get(TEMPLATE, headers=catalog.staff)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(codecs.BOM_UTF8)
    template = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"), newline="")))
    assert template[0] == importer.COLUMNS
    assert len(template) == 2  # the header and one example row
    assert template[1][importer.COLUMNS.index("pack_size")] == "0.5"

    out = io.StringIO()
    csv.writer(out).writerows(filled(template, name="Yogur de mora"))
    [sheet_] = await imported(catalog, out.getvalue().encode())
    assert (sheet_["name"], sheet_["category"], sheet_["pack_size"]) == (
        "Yogur de mora",
        "dairy",
        "0.500",
    )

    # the Spanish Excel one: opened, filled and saved again by Excel (cp1252, semicolons)
    r = await catalog.client.get(TEMPLATE, params={"dialect": "excel-es"}, headers=catalog.staff)
    assert r.status_code == 200, r.text
    assert r.content.startswith(codecs.BOM_UTF8)
    text = r.content.decode("utf-8-sig")
    assert text.endswith("\r\n")
    template = list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))
    assert template[0] == importer.COLUMNS
    assert template[1][importer.COLUMNS.index("pack_size")] == "0,5"
    assert template[1][importer.COLUMNS.index("origin_latitude")] == "-1,045"
    out = io.StringIO()
    csv.writer(out, delimiter=";", lineterminator="\r\n").writerows(
        filled(template, name="Queso de hoja", pack_size="1,25")
    )
    [sheet_] = await imported(catalog, out.getvalue().encode("cp1252"))
    assert (sheet_["name"], sheet_["pack_size"]) == ("Queso de hoja", "1.250")
    assert sheet_["origin"]["latitude"] == -1.045


async def test_the_template_is_for_association_staff(catalog: Catalog) -> None:
    r = await catalog.client.get(TEMPLATE, headers=await catalog.buyer())
    assert_problem(r, 403, "insufficient_role")
    r = await catalog.client.get(TEMPLATE)
    assert_problem(r, 401, "unauthenticated")
    r = await catalog.client.get(TEMPLATE, headers=await catalog.api.admin())
    assert r.status_code == 200


async def test_garbage_is_a_clear_422(catalog: Catalog) -> None:
    good = excel_es([row()])
    text = good.decode("cp1252")
    noise = random.Random(12).randbytes(4096)
    cases = {
        "png": (PNG, "NUL"),
        "random bytes": (noise, ""),
        "utf-16 with BOM": (codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "UTF-16"),
        "utf-16 without BOM": (text.encode("utf-16-le"), "NUL"),
        "utf-16 big endian": (codecs.BOM_UTF16_BE + text.encode("utf-16-be"), "UTF-16"),
        "xlsx": (b"PK\x03\x04\x14\x00\x06\x00" + noise, ".xlsx"),
        "neither utf-8 nor cp1252": (good + b"\x81\x8d", "Windows-1252"),
        "control characters": (good.replace(b"Queso", b"Que\x1bso"), "U+001B"),
    }
    for name, (content, hint) in cases.items():
        r: httpx.Response = await upload(catalog, content)
        body = assert_problem(r, 422, "import_invalid")
        assert body["errors"][0]["field"] == "file", (name, body)
        assert hint in body["errors"][0]["detail"], (name, body)
    r = await catalog.client.get("/api/v1/products", headers=catalog.staff)
    assert r.json()["items"] == []


async def test_a_header_of_many_cells_is_answered_quickly_and_briefly(catalog: Catalog) -> None:
    header = ",".join(f"c{n}" for n in range(100_000)).encode()  # 100 000 unknown columns
    body = assert_problem(await upload(catalog, header + b"\r\n"), 422, "import_invalid")
    unknown = next(e for e in body["errors"] if e["detail"].startswith("unknown columns"))
    assert unknown["detail"].endswith(" and 99980 more")
    assert len(unknown["detail"]) < 1000

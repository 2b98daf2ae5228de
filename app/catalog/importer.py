"""Bulk import of product sheets from a CSV file: all rows or none.

Every row is checked before anything is written, and every problem of every bad row is
reported with its line number, so a spreadsheet can be fixed in one pass.

The file is taken as people have it: what Excel writes in Ecuador and Colombia is separated
by semicolons and encoded in Windows-1252, what LibreOffice or Google Sheets write is UTF-8
with commas. So the text is decoded as UTF-8 (with or without a BOM) and, only if that fails,
as Windows-1252 (no other encoding is ever guessed); the separator, ``,`` or ``;``, is
sniffed and checked against the header; numbers may have a decimal comma, dates may be
written day first, and a category may be named by its slug or by its label in Spanish or
English. :data:`SPEC` documents every column, in the OpenAPI description of the import and
in the template at ``GET /products/import-template.csv``.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import audit
from app.accounts.principal import Principal
from app.catalog import service
from app.catalog.categories import TAXONOMY, category_keys, label_key
from app.catalog.exceptions import FileTooLarge, ImportInvalid
from app.catalog.models import CertificationKind, SanitaryAuthority, Storage, Unit
from app.catalog.schemas import ImportResult, ProductCreate
from app.core.ids import new_id
from app.core.schemas import TEXT_VALUES

MAX_ROWS = 5_000
MAX_BYTES = 20 * 1024 * 1024
SNIFF_CHARACTERS = 4096  # the separator is sniffed from the start (the sniffer is quadratic)
DELIMITERS = ",;"


@dataclass(frozen=True)
class Column:
    """One column of the import file, as the OpenAPI description and the template show it."""

    name: str
    required: bool
    format: str
    example: str | Decimal | int
    allowed: tuple[str, ...] = ()


DECIMAL = "a number; decimal point or comma (`0.5`, `0,5`)"
DATE = "a date, `YYYY-MM-DD` or day first `DD/MM/YYYY`"
SPEC: tuple[Column, ...] = (
    Column("name", True, "text, up to 200 characters", "Quesillo de Salcedo"),
    Column(
        "category",
        True,
        "the category's slug, or its label in Spanish or English, accents and case aside "
        "(`dairy`, `Lácteos`, `lacteos`, `Dairy`); `GET /categories` lists them",
        "Lácteos",
        tuple(seed.slug for seed in TAXONOMY),
    ),
    Column("description", False, "text, up to 4000 characters", "Quesillo fresco de leche cruda"),
    Column("story", False, "text, up to 4000 characters", "Doce familias ordeñan cada mañana"),
    Column("unit", True, "the unit the product is sold by", "unit", tuple(Unit)),
    Column("pack_size", True, f"{DECIMAL}, more than 0, at most 3 decimals", Decimal("0.5")),
    Column(
        "variable_weight",
        False,
        "sold by weight, each piece weighed: `true`/`false` (also `sí`/`no`, "
        "`verdadero`/`falso`, `yes`, `1`/`0`); empty is `false`",
        "false",
    ),
    Column("shelf_life_days", False, "a whole number of days, 1 to 3650", 15),
    Column("storage", True, "how it is kept", "chilled", tuple(Storage)),
    Column("allergens", False, "allergens separated by `;`", "leche"),
    Column(
        "certifications",
        False,
        f"`kind:number:expires_on`, several separated by `|`; number and {DATE} optional",
        "agroecological:PGS-17:2030-12-31",
        tuple(CertificationKind),
    ),
    Column(
        "sanitary_authority",
        False,
        "who issued the sanitary registration (with `sanitary_number` and `sanitary_expires_on`)",
        "ARCSA",
        tuple(SanitaryAuthority),
    ),
    Column("sanitary_number", False, "text, up to 60 characters", "12345-ALN-0323"),
    Column("sanitary_expires_on", False, DATE, "2030-03-31"),
    Column(
        "gtin",
        False,
        "the barcode: 8, 12, 13 or 14 digits with a right check digit (format the column as "
        "text in a spreadsheet, or it becomes `7,86E+12`)",
        "",
    ),
    Column("origin_parish", True, "text, up to 100 characters", "Salcedo"),
    Column("origin_canton", True, "text, up to 100 characters", "Salcedo"),
    Column("origin_province", True, "text, up to 100 characters", "Cotopaxi"),
    Column("origin_latitude", True, f"{DECIMAL}, -90 to 90", Decimal("-1.045")),
    Column("origin_longitude", True, f"{DECIMAL}, -180 to 180", Decimal("-78.59")),
)
COLUMNS = [column.name for column in SPEC]
REQUIRED = frozenset(column.name for column in SPEC if column.required)
ORIGIN = ("parish", "canton", "province", "latitude", "longitude")
SANITARY = ("authority", "number", "expires_on")
NUMBERS = frozenset({"pack_size", "origin_latitude", "origin_longitude"})

_DECIMAL_COMMA = re.compile(r"^[+-]?\d+,\d+$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[/.](\d{1,2})[/.](\d{4})$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_BOOLEANS = {"si": "true", "verdadero": "true", "falso": "false"}
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def columns_description() -> str:
    """The columns as a Markdown table, for the OpenAPI description of the import."""
    lines = [
        "| column | required | format | example | allowed values |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in SPEC:
        example = f"`{c.example}`" if str(c.example) else ""
        allowed = ", ".join(f"`{a}`" for a in c.allowed)
        required = "yes" if c.required else "no"
        lines.append(f"| `{c.name}` | {required} | {c.format} | {example} | {allowed} |")
    return "\n".join(lines)


def template_row() -> list[str | Decimal | int]:
    """The template's example row (numbers as numbers: each CSV dialect writes its own
    decimal separator)."""
    return [column.example for column in SPEC]


@dataclass
class Parsed:
    """The rows that passed the checks so far (line, sheet, compact GTIN), and the problems."""

    rows: list[tuple[int, ProductCreate, str | None]] = field(default_factory=list)
    errors: list[dict[str, str]] = field(default_factory=list)
    bad_lines: set[int] = field(default_factory=set)
    total: int = 0

    def error(self, where: int | str, detail: str) -> None:
        if isinstance(where, int):
            self.bad_lines.add(where)
            where = f"line {where}"
        self.errors.append({"field": where, "detail": detail})


class Unreadable(ValueError):
    """The file is not CSV text that can be read: why, for the person who sent it."""


def decode(content: bytes) -> str:
    """The file's text: UTF-8 (a BOM is dropped) or else Windows-1252, nothing else."""
    if content.startswith(b"PK\x03\x04"):
        raise Unreadable("a spreadsheet file (.xlsx or .ods), not CSV: save it as CSV")
    if content.startswith(_WIDE_BOMS):
        raise Unreadable(
            'UTF-16 or UTF-32 text: save the sheet as "CSV UTF-8" or "CSV (delimitado por comas)"'
        )
    if b"\x00" in content:
        raise Unreadable("not a text file (it has NUL bytes): save the sheet as CSV")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise Unreadable(f"neither UTF-8 nor Windows-1252 text (byte {exc.start})") from None
    control = _CONTROL.search(text)
    if control:
        raise Unreadable(
            f"not CSV text: a control character (U+{ord(control.group()):04X}) "
            f"at character {control.start() + 1}"
        )
    return text


def _known_columns(sample: str, delimiter: str) -> int:
    try:
        header = next(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter), [])
    except csv.Error:
        return 0
    return len({h.strip().lower() for h in header} & set(COLUMNS))


def delimiter(text: str) -> str:
    """``,`` or ``;``: what the sniffer sees, unless the header names more known columns when
    split by the other one (the sniffer can be misled by commas or semicolons in the cells,
    and cannot decide on a file of one row)."""
    sample = text[:SNIFF_CHARACTERS]
    try:
        guess = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        guess = ","
    other = ";" if guess == "," else ","
    return other if _known_columns(sample, other) > _known_columns(sample, guess) else guess


def _iso_date(text: str) -> str:
    """``31/01/2029`` (day first, as in Ecuador and Colombia) → ``2029-01-31``."""
    day_first = _DAY_FIRST.match(text.strip())
    if not day_first:
        return text
    day, month, year = day_first.groups()
    return f"{year}-{int(month):02d}-{int(day):02d}"


def _number(text: str) -> str:
    """``0,5`` → ``0.5`` (a decimal comma, as Spanish spreadsheets write)."""
    return text.replace(",", ".") if _DECIMAL_COMMA.match(text) else text


def _certifications(text: str) -> list[dict[str, str | None]]:
    """``organic:EC-123:2027-01-31|pgs`` → a list of certification objects."""
    items = []
    for chunk in text.split("|"):
        if not chunk.strip():
            continue
        kind, number, expires = [*chunk.split(":", 2), None, None][:3]
        items.append(
            {
                "kind": (kind or "").strip(),
                "number": (number or "").strip() or None,
                "expires_on": _iso_date(expires or "").strip() or None,
            }
        )
    return items


def row_body(row: Mapping[str, str], association_id: str) -> dict[str, Any]:
    """A CSV row as the JSON body ``POST /products`` takes; empty cells are left out."""
    cell = {k: v.strip() for k, v in row.items() if v and v.strip()}
    for name in NUMBERS & set(cell):
        cell[name] = _number(cell[name])
    if "variable_weight" in cell:
        written = cell["variable_weight"]
        cell["variable_weight"] = _BOOLEANS.get(label_key(written), written)
    if "sanitary_expires_on" in cell:
        cell["sanitary_expires_on"] = _iso_date(cell["sanitary_expires_on"])
    body: dict[str, Any] = {"association_id": association_id}
    for name in [
        "name",
        "category",
        "description",
        "story",
        "unit",
        "pack_size",
        "variable_weight",
        "shelf_life_days",
        "storage",
        "gtin",
    ]:
        if name in cell:
            body[name] = cell[name]
    if "allergens" in cell:
        body["allergens"] = [a.strip() for a in cell["allergens"].split(";") if a.strip()]
    if "certifications" in cell:
        body["certifications"] = _certifications(cell["certifications"])
    sanitary = {k: cell[f"sanitary_{k}"] for k in SANITARY if f"sanitary_{k}" in cell}
    if sanitary:
        body["sanitary_registration"] = sanitary
    body["origin"] = {k: cell[f"origin_{k}"] for k in ORIGIN if f"origin_{k}" in cell}
    return body


def _column(loc: tuple[int | str, ...]) -> str:
    """The CSV column a validation error points at (``origin.parish`` → ``origin_parish``)."""
    if len(loc) >= 2 and loc[0] == "origin":
        return f"origin_{loc[1]}"
    if len(loc) >= 2 and loc[0] == "sanitary_registration":
        return f"sanitary_{loc[1]}"
    if loc and loc[0] == "certifications" and len(loc) >= 2 and isinstance(loc[1], int):
        return ".".join([f"certifications[{loc[1] + 1}]", *map(str, loc[2:])])
    return ".".join(map(str, loc)) or "row"


def _names(columns: list[str], shown: int = 20) -> str:
    listed = ", ".join(c[:40] for c in columns[:shown])
    return listed + (f" and {len(columns) - shown} more" if len(columns) > shown else "")


def _records(text: str, parsed: Parsed) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter(text))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        parsed.error("file", "the file is empty")
        return
    except csv.Error as exc:
        parsed.error("header", f"not readable as CSV: {exc}")
        return
    missing = sorted(REQUIRED - set(header))
    unknown = sorted(set(header) - set(COLUMNS))
    # counted, not header.count(h) per cell: a header of 100 000 cells must not take minutes
    duplicated = sorted(h for h, n in Counter(header).items() if n > 1)
    if missing:
        parsed.error("header", f"missing columns: {_names(missing)}")
    if unknown:
        parsed.error("header", f"unknown columns: {_names(unknown)}")
    if duplicated:
        parsed.error("header", f"repeated columns: {_names(duplicated)}")
    if missing or unknown or duplicated:
        return
    seen, end = 0, reader.line_num
    while True:
        start = end + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            parsed.error(start, f"not readable as CSV: {exc}")
            return
        end = reader.line_num
        if not any(v.strip() for v in values):
            continue
        seen += 1
        if seen > MAX_ROWS:
            parsed.error("file", f"at most {MAX_ROWS} rows may be imported at once")
            return
        if len(values) > len(header):
            parsed.error(start, f"{len(values)} values for {len(header)} columns")
            continue
        yield start, dict(zip(header, values, strict=False))


def parse(content: bytes, association_id: str, categories: Mapping[str, str]) -> Parsed:
    """Check the shape of every row (no database needed): ``categories`` maps every way of
    writing a category (:func:`app.catalog.categories.label_key`) to its slug."""
    parsed = Parsed()
    try:
        text = decode(content)
    except Unreadable as exc:
        parsed.error("file", str(exc))
        return parsed
    for line, record in _records(text, parsed):
        parsed.total += 1
        body = row_body(record, association_id)
        if body.get("category"):
            slug = categories.get(label_key(body["category"]))
            if slug is None:
                parsed.error(line, f"category: unknown category {body['category']!r}")
            else:
                body["category"] = slug
        gtin = None
        if body.get("gtin"):
            try:
                gtin = service.normalize_gtin(body["gtin"])
            except ValueError as exc:
                parsed.error(line, f"gtin: {exc}")
        try:
            data = ProductCreate.model_validate(body, context=TEXT_VALUES)  # CSV: all text
        except ValidationError as exc:
            for err in exc.errors():
                parsed.error(line, f"{_column(tuple(err['loc']))}: {err['msg']}")
            continue
        if line not in parsed.bad_lines:
            parsed.rows.append((line, data, gtin))
    if not parsed.total and not parsed.errors:
        parsed.error("file", "the file has a header but no rows")
    return parsed


def _line_order(error: Mapping[str, str]) -> tuple[int, int]:
    where = error["field"]
    return (1, int(where.removeprefix("line "))) if where.startswith("line ") else (0, 0)


async def import_products(
    session: AsyncSession, principal: Principal, association_id: str, content: bytes
) -> ImportResult:
    association = await service.association_for_write(session, principal, association_id)
    if len(content) > MAX_BYTES:
        raise FileTooLarge(f"Import files may be at most {MAX_BYTES} bytes")
    parsed = parse(content, association.id, await category_keys(session))
    if parsed.errors:
        parsed.errors.sort(key=_line_order)
        raise ImportInvalid(
            f"{len(parsed.bad_lines)} of {parsed.total} rows have errors; nothing was imported"
            if parsed.bad_lines
            else "The file cannot be imported; nothing was imported",
            errors=parsed.errors,
        )

    sheets = [service.new_sheet(association, data, gtin) for _, data, gtin in parsed.rows]
    session.add_all([product for product, _ in sheets])
    await session.flush()
    session.add_all([row for _, rows in sheets for row in rows])
    await session.flush()
    ids = [product.id for product, _ in sheets]
    await audit.record(
        session,
        principal,
        action="product.import",
        object_type="product_import",
        object_id=new_id(),
        organization_id=association.id,
        changes=audit.diff(None, {"created": len(ids), "product_ids": ids}),
    )
    return ImportResult(created=len(ids), items=ids)

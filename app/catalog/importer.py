"""Bulk import of product sheets from a CSV file: all rows or none.

Every row is checked before anything is written, and every problem of every bad row is
reported with its line number, so a spreadsheet can be fixed in one pass.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import audit
from app.accounts.principal import Principal
from app.catalog import service
from app.catalog.categories import existing_slugs
from app.catalog.exceptions import FileTooLarge, ImportInvalid
from app.catalog.schemas import ImportResult, ProductCreate
from app.core.ids import new_id
from app.core.schemas import TEXT_VALUES

MAX_ROWS = 5_000
MAX_BYTES = 20 * 1024 * 1024

COLUMNS = [
    "name",
    "category",
    "description",
    "story",
    "unit",
    "pack_size",
    "variable_weight",
    "shelf_life_days",
    "storage",
    "allergens",
    "certifications",
    "sanitary_authority",
    "sanitary_number",
    "sanitary_expires_on",
    "gtin",
    "origin_parish",
    "origin_canton",
    "origin_province",
    "origin_latitude",
    "origin_longitude",
]
REQUIRED = frozenset(
    [
        "name",
        "category",
        "unit",
        "pack_size",
        "storage",
        "origin_parish",
        "origin_canton",
        "origin_province",
        "origin_latitude",
        "origin_longitude",
    ]
)
ORIGIN = ("parish", "canton", "province", "latitude", "longitude")
SANITARY = ("authority", "number", "expires_on")


@dataclass
class Parsed:
    """The rows that passed the checks so far (line, sheet, compact GTIN), and the problems."""

    rows: list[tuple[int, ProductCreate, str | None]] = field(default_factory=list)
    categories: dict[int, str] = field(default_factory=dict)  # line → category as written
    errors: list[dict[str, str]] = field(default_factory=list)
    bad_lines: set[int] = field(default_factory=set)
    total: int = 0

    def error(self, where: int | str, detail: str) -> None:
        if isinstance(where, int):
            self.bad_lines.add(where)
            where = f"line {where}"
        self.errors.append({"field": where, "detail": detail})


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
                "expires_on": (expires or "").strip() or None,
            }
        )
    return items


def row_body(row: Mapping[str, str], association_id: str) -> dict[str, Any]:
    """A CSV row as the JSON body ``POST /products`` takes; empty cells are left out."""
    cell = {k: v.strip() for k, v in row.items() if v and v.strip()}
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


def _records(text: str, parsed: Parsed) -> Iterator[tuple[int, dict[str, str]]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        parsed.error("file", "the file is empty")
        return
    missing = sorted(REQUIRED - set(header))
    unknown = sorted(set(header) - set(COLUMNS))
    duplicated = sorted({h for h in header if header.count(h) > 1})
    if missing:
        parsed.error("header", f"missing columns: {', '.join(missing)}")
    if unknown:
        parsed.error("header", f"unknown columns: {', '.join(unknown)}")
    if duplicated:
        parsed.error("header", f"repeated columns: {', '.join(duplicated)}")
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


def parse(content: bytes, association_id: str) -> Parsed:
    """Check the shape of every row (no database needed)."""
    parsed = Parsed()
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        parsed.error("file", f"not UTF-8 text (byte {exc.start})")
        return parsed
    for line, record in _records(text, parsed):
        parsed.total += 1
        body = row_body(record, association_id)
        if body.get("category"):
            parsed.categories[line] = body["category"]
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
    parsed = parse(content, association.id)

    known = await existing_slugs(session, list(parsed.categories.values()))
    for line, slug in parsed.categories.items():
        if slug not in known:
            parsed.error(line, f"category: unknown category {slug!r}")
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

"""CSV exports: one writer for every download, streamed, and safe to open in a spreadsheet.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` in a buyer's purchase
order number, say), so it gets a leading ``'`` as OWASP recommends ("CSV Injection"). Only
text is neutralised: numbers the exports write as ``int`` or ``Decimal`` (cents, quantities)
are the application's own, never a formula, and a negative amount such as ``-250`` must stay
a number that the spreadsheet can add up.

Two dialects, chosen with ``?dialect=`` on every export (:data:`DialectQuery`):

- ``rfc4180`` (the default): commas, CRLF line ends, UTF-8 with a BOM, decimal point.
- ``excel-es``: what Excel opens right with a Spanish (Ecuador, Colombia, Spain) regional
  setting, where the list separator is ``;`` and the decimal separator ``,``: semicolons,
  CRLF, UTF-8 with a BOM (without it Excel reads the bytes as Windows-1252), and a decimal
  comma in every ``Decimal`` or ``float`` cell. Quantities are written as ``Decimal`` for
  this reason (see :func:`quantity`); integer cents stay integers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import StreamingResponse

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_CHARACTERS = 64 * 1024  # rows are sent in chunks of about this size
THOUSANDTH = Decimal("0.001")

Row = Sequence[Any]


class CsvDialect(StrEnum):
    rfc4180 = "rfc4180"
    excel_es = "excel-es"


@dataclass(frozen=True)
class _Format:
    delimiter: str
    decimal_point: str


FORMATS = {
    CsvDialect.rfc4180: _Format(delimiter=",", decimal_point="."),
    CsvDialect.excel_es: _Format(delimiter=";", decimal_point=","),
}

DialectQuery = Annotated[
    CsvDialect,
    Query(
        description="`rfc4180` (default): commas, decimal point. `excel-es`: for Excel with "
        "a Spanish regional setting: semicolons and a decimal comma. Both are UTF-8 with a "
        "BOM and CRLF line ends."
    ),
]


def quantity(value: Decimal | int | str) -> Decimal:
    """A quantity as exports write it: three decimals, a number (so each dialect writes its
    own decimal separator)."""
    return Decimal(value).quantize(THOUSANDTH)


def cell(value: Any, dialect: CsvDialect = CsvDialect.rfc4180) -> str | int:
    """One cell as written: numbers as they are (decimals with the dialect's separator),
    text neutralised if it could be a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        text = str(value) if isinstance(value, float) else f"{value:f}"
        return text.replace(".", FORMATS[dialect].decimal_point)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Writer:
    def __init__(self, dialect: CsvDialect) -> None:
        self.dialect = dialect
        self.buffer = io.StringIO()
        self.writer = csv.writer(
            self.buffer, delimiter=FORMATS[dialect].delimiter, lineterminator="\r\n"
        )

    def write(self, row: Row) -> None:
        self.writer.writerow([cell(v, self.dialect) for v in row])

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


async def _aiter(rows: Iterable[Row] | AsyncIterable[Row]) -> AsyncIterator[Row]:
    if isinstance(rows, AsyncIterable):
        async for row in rows:
            yield row
    else:
        for row in rows:
            yield row


def csv_response(
    filename: str,
    header: Sequence[str],
    rows: Iterable[Row] | AsyncIterable[Row],
    dialect: CsvDialect = CsvDialect.rfc4180,
) -> StreamingResponse:
    """A CSV download (RFC 4180 line endings, UTF-8 with a BOM so spreadsheets read accents),
    in ``dialect``.

    ``rows`` may be an async iterator that reads the database as the file goes out: the whole
    result is sent, in chunks, never held in memory at once.
    """

    async def body() -> AsyncIterator[str]:
        writer = _Writer(dialect)
        writer.write(header)
        chunk = "\ufeff" + writer.take()
        async for row in _aiter(rows):
            writer.write(row)
            if writer.buffer.tell() >= CHUNK_CHARACTERS:
                yield chunk + writer.take()
                chunk = ""
        yield chunk + writer.take()

    return StreamingResponse(
        body(),
        media_type=CSV_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )

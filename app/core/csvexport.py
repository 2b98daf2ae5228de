"""CSV exports: one writer for every download, streamed, and safe to open in a spreadsheet.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is run as a
formula by Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)`` in a buyer's purchase
order number, say), so it gets a leading ``'`` as OWASP recommends ("CSV Injection"). Only
text is neutralised: numbers the exports write as ``int`` or ``Decimal`` (cents, quantities)
are the application's own, never a formula, and a negative amount such as ``-250`` must stay
a number that the spreadsheet can add up.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from fastapi.responses import StreamingResponse

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CHUNK_CHARACTERS = 64 * 1024  # rows are sent in chunks of about this size

Row = Sequence[Any]


def cell(value: Any) -> str | int | float | Decimal:
    """One cell as written: numbers as they are, text neutralised if it could be a formula."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float | Decimal):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


class _Writer:
    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def write(self, row: Row) -> None:
        self.writer.writerow([cell(v) for v in row])

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
    filename: str, header: Sequence[str], rows: Iterable[Row] | AsyncIterable[Row]
) -> StreamingResponse:
    """A CSV download (RFC 4180 line endings, UTF-8 with a BOM so spreadsheets read accents).

    ``rows`` may be an async iterator that reads the database as the file goes out: the whole
    result is sent, in chunks, never held in memory at once.
    """

    async def body() -> AsyncIterator[str]:
        writer = _Writer()
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

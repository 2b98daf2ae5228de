"""Typed path and query parameters: ids, with their shape in the OpenAPI document.

The shape is the one of ``app.core.ids``, where the body's ``Id`` lives too (domains import it
from there: only routers may use ``app.api``, tests/test_layers.py). An id in a path, a query
or a body is spelled the same way, and refused with a 422 the same way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from starlette.convertors import Convertor, register_url_convertor

from app.core.ids import ID_PATTERN, Id, ProviderId

__all__ = ["ID_PATTERN", "Id", "IdPath", "IdQuery", "ProviderId", "RequiredIdQuery"]

IdPath = Annotated[str, Path(min_length=1, max_length=36, pattern=ID_PATTERN)]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=36, pattern=ID_PATTERN)]
RequiredIdQuery = Annotated[str, Query(min_length=1, max_length=36, pattern=ID_PATTERN)]


class IdConvertor(Convertor[str]):
    """``{name:id}`` in a route's path: the route matches only what an id may be, so a
    literal path beside it (``/products/import-template.csv`` beside
    ``/products/{product_id}``) answers 405 to another method instead of a 422 for an id
    that cannot be one. The OpenAPI path stays ``{name}``, with the pattern above."""

    regex = "[A-Za-z0-9_-]{1,36}"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("id", IdConvertor())

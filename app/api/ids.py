"""Typed path and query parameters: ids, with their shape in the OpenAPI document.

The shape is the one of ``app.core.ids``, where the body's ``Id`` lives too (domains import it
from there: only routers may use ``app.api``, tests/test_layers.py). An id in a path, a query
or a body is spelled the same way, and refused with a 422 the same way.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from app.core.ids import ID_PATTERN, Id, ProviderId

__all__ = ["ID_PATTERN", "Id", "IdPath", "IdQuery", "ProviderId", "RequiredIdQuery"]

IdPath = Annotated[str, Path(min_length=1, max_length=36, pattern=ID_PATTERN)]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=36, pattern=ID_PATTERN)]
RequiredIdQuery = Annotated[str, Query(min_length=1, max_length=36, pattern=ID_PATTERN)]

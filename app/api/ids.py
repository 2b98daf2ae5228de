"""Typed path and query parameters: ids, with their shape in the OpenAPI document.

Ids are opaque strings (API.md): Minga's are UUIDv7 (``app.core.ids``), but clients must not
rely on that, and an unknown id answers 404 like one of another organisation's. So the
pattern admits what an opaque, URL-safe id may contain — ASCII letters, digits, ``-`` and
``_``, at most 36 — and refuses with a 422 what no id can be (spaces, dots, quotes, slashes,
other scripts, control characters), before anything reaches the database or a header such
as ``Content-Disposition``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

ID_PATTERN = r"^[A-Za-z0-9_-]{1,36}$"

IdPath = Annotated[str, Path(min_length=1, max_length=36, pattern=ID_PATTERN)]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=36, pattern=ID_PATTERN)]

"""Typed path and query parameters: ids and free text, with length caps, and no characters
that the database cannot store (see ``app.core.schemas.check_text``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from app.core.schemas import PlainText

IdPath = Annotated[PlainText, Path(min_length=1, max_length=36)]
IdQuery = Annotated[PlainText | None, Query(min_length=1, max_length=36)]

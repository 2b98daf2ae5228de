"""Typed path and query parameters for ids, with length caps."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

IdPath = Annotated[str, Path(min_length=1, max_length=36)]
IdQuery = Annotated[str | None, Query(min_length=1, max_length=36)]

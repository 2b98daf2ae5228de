"""Accent- and case-insensitive text matching that behaves the same on SQLite and PostgreSQL.

The folding happens in Python: rows store their searchable text already normalised and
query terms are normalised the same way, then matched with a plain ``LIKE``.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, and_, true

MAX_TERMS = 8


def normalize(text: str) -> str:
    """``"  Quesos de Mulaló "`` → ``"quesos de mulalo"``: no accents, case-folded, one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def search_text(*parts: str | None) -> str:
    return normalize(" ".join(p for p in parts if p))


def terms(query: str) -> list[str]:
    """The distinct normalised words of a query, at most ``MAX_TERMS`` of them."""
    return list(dict.fromkeys(normalize(query).split()))[:MAX_TERMS]


def escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def contains_all(column: Any, words: Iterable[str]) -> ColumnElement[bool]:
    """Every word appears somewhere in ``column`` (which holds normalised text)."""
    clauses = [column.like(f"%{escape_like(w)}%", escape="\\") for w in words]
    return and_(true(), *clauses)

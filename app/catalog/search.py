"""Search of product sheets: accent- and case-insensitive, the same on SQLite and PostgreSQL.

Each sheet stores its searchable text (name, description, association name, parish) already
normalised by ``app.core.text``; the words of a query are normalised the same way, and a
sheet matches when every one of them appears in its text.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement
from sqlmodel import col

from app.catalog.models import Product
from app.core.text import contains_all, normalize, search_text, terms


def sheet_text(product: Product, association_name: str) -> str:
    return search_text(product.name, product.description, association_name, product.origin_parish)


PARISH_KEY_LENGTH = 100  # the column's; folding may lengthen a name ("ß" → "ss", ligatures)


def parish_key(parish: str) -> str:
    """The parish as the accent-insensitive parish filter compares it."""
    return normalize(parish)[:PARISH_KEY_LENGTH]


def matches(query: str) -> ColumnElement[bool]:
    return contains_all(col(Product.search_text), terms(query))

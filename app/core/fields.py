"""Column definitions every domain's tables share: ids, foreign keys, timestamps,
quantities (scale 3) and JSON lists."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Column
from sqlmodel import Field

from app.core.ids import new_id
from app.core.timeutil import UTCDateTime, utcnow


def id_field() -> Any:
    """A time-ordered opaque id (UUIDv7) as the primary key."""
    return Field(default_factory=new_id, primary_key=True, max_length=36)


def foreign_key(target: str, *, ondelete: Any = None, index: bool = True) -> Any:
    kwargs: dict[str, Any] = {"max_length": 36, "foreign_key": target, "index": index}
    if ondelete:
        kwargs["ondelete"] = ondelete
    return Field(**kwargs)


def timestamp() -> Any:
    """An aware UTC timestamp that defaults to now."""
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def quantity_field(default: Decimal | None = None) -> Any:
    """A quantity in the sale unit, three decimal places."""
    if default is None:
        return Field(max_digits=14, decimal_places=3)
    return Field(default=default, max_digits=14, decimal_places=3)


def json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))

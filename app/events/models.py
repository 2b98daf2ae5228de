"""What happened, once: every event that people or integrators are told about is a row,
written in the transaction of the change itself. A job (``events.dispatch``) turns it into
notifications and webhook deliveries afterwards, so the request pays for one INSERT.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.fields import id_field
from app.core.timeutil import UTCDateTime, utcnow


class DomainEvent(SQLModel, table=True):
    __tablename__ = "domain_events"
    # ``key`` makes an event that several ticks or retries record happen once
    # (``cycle.closing_soon`` of one cycle, say)
    __table_args__ = (UniqueConstraint("type", "key"),)

    id: str = id_field()
    type: str = Field(sa_type=String(48))
    key: str = Field(max_length=200)
    # the organisations that may see it: its webhooks go only to endpoints of these
    audience: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    dispatched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

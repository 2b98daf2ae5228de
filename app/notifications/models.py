"""Every message Minga sends is a row here before it is sent: who gets it, in which language,
from which template, and how sending went (``state``, ``attempts``, ``last_error``).

A row is written in the transaction of the change it tells about, so a change that rolls back
sends nothing; ``(kind, event_key, user_id)`` is unique, so one event is told to one person
once however often it is recorded.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.fields import id_field
from app.core.timeutil import UTCDateTime, utcnow


class NotificationState(StrEnum):
    pending = "pending"  # written, waiting for its job
    sending = "sending"  # a worker holds it until ``lease_until``
    sent = "sent"
    failed = "failed"  # gave up after the last attempt; ``last_error`` says why


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("kind", "event_key", "user_id"),
        Index("ix_notifications_state", "state", "lease_until"),
    )

    id: str = id_field()
    user_id: str | None = Field(
        default=None, max_length=36, foreign_key="users.id", ondelete="SET NULL", index=True
    )
    email: str = Field(max_length=254)  # the address when the row was written
    language: str = Field(sa_type=String(8))
    kind: str = Field(sa_type=String(48))
    event_key: str = Field(max_length=200)
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=NotificationState.pending, sa_type=String(16))
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=2000)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    message_id: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationPreference(SQLModel, table=True):
    """A kind of message a person turned off (or back on); no row: the kind's default."""

    __tablename__ = "notification_preferences"

    user_id: str = Field(
        max_length=36, foreign_key="users.id", ondelete="CASCADE", primary_key=True
    )
    kind: str = Field(sa_type=String(48), primary_key=True)
    enabled: bool

"""Tables of the payments domain: authorisations held for orders, provider webhook events."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.ids import new_id
from app.core.timeutil import UTCDateTime, utcnow


class AuthorizationStatus(StrEnum):
    not_required = "not_required"  # invoice, cash on delivery: nothing is held
    pending = "pending"  # the provider is still working (3-D Secure, processing)
    authorized = "authorized"
    failed = "failed"
    cancelled = "cancelled"
    captured = "captured"
    partially_refunded = "partially_refunded"
    refunded = "refunded"


# How far along its life an authorisation is. A status only ever moves to a higher rank, so
# provider events that arrive late or out of order never undo a newer state; statuses of the
# same rank are alternative outcomes (authorised or failed; cancelled or captured) and never
# replace each other.
STATUS_RANK: dict[AuthorizationStatus, int] = {
    AuthorizationStatus.not_required: 0,
    AuthorizationStatus.pending: 0,
    AuthorizationStatus.authorized: 1,
    AuthorizationStatus.failed: 1,
    AuthorizationStatus.cancelled: 2,
    AuthorizationStatus.captured: 2,
    AuthorizationStatus.partially_refunded: 3,
    AuthorizationStatus.refunded: 4,
}


def moves_forward(current: AuthorizationStatus | str, new: AuthorizationStatus | str) -> bool:
    return STATUS_RANK[AuthorizationStatus(new)] > STATUS_RANK[AuthorizationStatus(current)]


class EventSource(StrEnum):
    stripe = "stripe"


class PaymentAuthorization(SQLModel, table=True):
    """The money held (or the terms granted) for one order, and what became of it.

    ``order_id`` carries no foreign key: payments must not depend on how orders are stored.
    """

    __tablename__ = "payment_authorizations"
    __table_args__ = (
        CheckConstraint("amount_cents >= 0", name="amount_not_negative"),
        CheckConstraint("captured_cents >= 0", name="captured_not_negative"),
        CheckConstraint(
            "refunded_cents >= 0 AND refunded_cents <= captured_cents", name="refunded_range"
        ),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    order_id: str = Field(max_length=36, index=True)
    buyer_id: str = Field(max_length=36, foreign_key="organizations.id", index=True)
    provider: str = Field(sa_type=String(24))
    status: str = Field(sa_type=String(24))
    amount_cents: int
    captured_cents: int = 0
    refunded_cents: int = 0
    currency: str = Field(sa_type=String(3))
    # A PaymentIntent id belongs to one authorisation; NULLs (invoice, cash) never collide.
    external_ref: str | None = Field(default=None, max_length=255, unique=True)
    due_in_days: int | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


class PaymentEvent(SQLModel, table=True):
    """A provider webhook event, stored once per ``(source, external_id)`` before it is applied."""

    __tablename__ = "payment_events"
    __table_args__ = (UniqueConstraint("source", "external_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    source: str = Field(sa_type=String(16))
    external_id: str = Field(max_length=255)
    type: str = Field(max_length=100)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    processed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

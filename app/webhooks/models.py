"""Integrators' webhooks: the endpoints an organisation registered, and every delivery of an
event to one of them (the delivery log), following the Standard Webhooks specification.

A delivery is written in the transaction that dispatches its event; ``(endpoint_id,
event_id)`` is unique, so an event told twice is delivered once. Its ``id`` is the
``webhook-id`` header, the same on every retry, so a receiver can drop a copy it has seen.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.fields import id_field, json_list, timestamp
from app.core.timeutil import UTCDateTime


class EventType(StrEnum):
    """The events an endpoint may subscribe to (their payloads are the events' own)."""

    order_placed = "order.placed"
    order_changed = "order.changed"
    order_cancelled = "order.cancelled"
    order_confirmed = "order.confirmed"
    cycle_opened = "cycle.opened"
    cycle_closed = "cycle.closed"
    shipment_delivered = "shipment.delivered"
    invoice_issued = "invoice.issued"
    payout_issued = "payout.issued"


class DeliveryState(StrEnum):
    pending = "pending"  # waiting for its job (the first, or a retry after a failure)
    sending = "sending"  # a worker holds it until ``lease_until``
    succeeded = "succeeded"  # the endpoint answered 2xx
    failed = "failed"  # gave up after the last attempt; ``last_error`` says why


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoints"

    id: str = id_field()
    organization_id: str = Field(
        max_length=36, foreign_key="organizations.id", ondelete="CASCADE", index=True
    )
    url: str = Field(max_length=2000)
    events: list[str] = json_list()
    # ``whsec_`` + base64 of 24 random bytes: kept in the clear, it has to be to sign
    secret: str = Field(max_length=64)
    is_active: bool = True
    created_by_user_id: str | None = Field(
        default=None, max_length=36, foreign_key="users.id", ondelete="SET NULL"
    )
    created_at: datetime = timestamp()
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("endpoint_id", "event_id"),
        Index("ix_webhook_deliveries_state", "state", "lease_until"),
    )

    id: str = id_field()  # the ``webhook-id`` header
    endpoint_id: str = Field(
        max_length=36, foreign_key="webhook_endpoints.id", ondelete="CASCADE", index=True
    )
    event_id: str = Field(max_length=36)
    event_type: str = Field(sa_type=String(48))
    # the body sent, the same bytes on every attempt
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    state: str = Field(default=DeliveryState.pending, sa_type=String(16))
    attempts: int = 0
    # attempts are given up once ``attempts`` reaches it (a replay grants a new series)
    attempt_limit: int = 10
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    next_attempt_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = timestamp()
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

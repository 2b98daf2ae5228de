"""API shapes of the payments domain."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from app.core.ids import ProviderId
from app.payments.models import PaymentAuthorization

# What Minga reads from a Stripe event, with the bounds of the columns it lands in: Stripe's
# ids are at most 255 characters, event types are short dotted names, and amounts fit the
# integer columns (Stripe's own cap, eight digits for most currencies, is far below).
MAX_EVENT_TYPE = 100
MAX_AMOUNT_CENTS = 2**31 - 1

Amount = Annotated[StrictInt, Field(ge=0, le=MAX_AMOUNT_CENTS)]


class StripeEventData(BaseModel):
    model_config = ConfigDict(extra="allow")

    object: dict[str, Any] | None = None


class StripeEventIn(BaseModel):
    """The envelope of a signed Stripe event (other fields are kept, not read)."""

    model_config = ConfigDict(extra="allow")

    id: ProviderId
    type: Annotated[
        str,
        Field(min_length=1, max_length=MAX_EVENT_TYPE, pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$"),
    ]
    data: StripeEventData | None = None


class StripePaymentObjectIn(BaseModel):
    """The PaymentIntent or Charge of an event Minga applies: the fields it reads."""

    model_config = ConfigDict(extra="allow")

    id: ProviderId | None = None
    payment_intent: ProviderId | None = None
    amount: Amount | None = None
    amount_received: Amount | None = None
    amount_captured: Amount | None = None
    amount_refunded: Amount | None = None


class WebhookReceipt(BaseModel):
    """The answer to a provider webhook; ``duplicate`` when the event id was seen before."""

    received: bool = True
    duplicate: bool


class AuthorizationPublic(BaseModel):
    """An order's payment, as other domains may show it."""

    method: str
    status: str
    amount_cents: int
    captured_cents: int
    refunded_cents: int
    currency: str
    due_in_days: int | None = None


def authorization_public(row: PaymentAuthorization) -> AuthorizationPublic:
    return AuthorizationPublic(
        method=row.provider,
        status=row.status,
        amount_cents=row.amount_cents,
        captured_cents=row.captured_cents,
        refunded_cents=row.refunded_cents,
        currency=row.currency,
        due_in_days=row.due_in_days,
    )

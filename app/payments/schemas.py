"""API shapes of the payments domain."""

from __future__ import annotations

from pydantic import BaseModel

from app.payments.models import PaymentAuthorization


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

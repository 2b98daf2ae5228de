"""The payment provider interface and the two providers that move no money at placement.

A provider knows how to hold, change, release, take and give back money with one payment
method; it knows nothing of orders or of the database. ``app.payments.service`` stores what
the providers answer and makes every step idempotent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from app.core.config import Settings
from app.orders.models import PaymentMethod
from app.payments.exceptions import CardPaymentsUnavailable
from app.payments.models import AuthorizationStatus

DEFAULT_PAYMENT_TERMS_DAYS = 30


@dataclass(frozen=True)
class Authorization:
    """What a provider holds for an order once it is placed."""

    provider: PaymentMethod
    status: AuthorizationStatus
    amount_cents: int
    currency: str
    external_ref: str | None = None
    due_in_days: int | None = None


@dataclass(frozen=True)
class Capture:
    amount_cents: int
    external_ref: str | None = None


@dataclass(frozen=True)
class Refund:
    amount_cents: int
    external_ref: str | None = None


class PaymentProvider(Protocol):
    method: PaymentMethod

    async def authorize(
        self,
        *,
        amount_cents: int,
        currency: str,
        payment_method_id: str | None,
        customer_ref: str | None,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> Authorization: ...

    async def update_amount(
        self, authorization_ref: str | None, amount_cents: int, *, idempotency_key: str
    ) -> str | None:
        """Hold ``amount_cents`` instead; answer the reference now holding it (may be new)."""
        ...

    async def replace_hold(
        self, authorization_ref: str | None, amount_cents: int, *, idempotency_key: str
    ) -> str | None:
        """Hold ``amount_cents`` anew beside the current hold (left as it is); answer the
        reference of the new one."""
        ...

    async def cancel(self, authorization_ref: str | None, *, idempotency_key: str) -> None: ...

    async def capture(
        self, authorization_ref: str | None, amount_cents: int, *, idempotency_key: str
    ) -> Capture: ...

    async def refund(
        self, authorization_ref: str | None, amount_cents: int, *, idempotency_key: str
    ) -> Refund: ...


class _NothingToMove:
    """Shared behaviour of the providers that settle outside Minga."""

    method: PaymentMethod

    async def update_amount(
        self, authorization_ref: str | None, amount_cents: int, *, idempotency_key: str
    ) -> str | None:
        return authorization_ref

    async def replace_hold(
        self, authorization_ref: str | None, amount_cents: int, *, idempotency_key: str
    ) -> str | None:
        return authorization_ref

    async def cancel(self, authorization_ref: str | None, *, idempotency_key: str) -> None:
        return None

    async def capture(
        self, authorization_ref: str | None, amount_cents: int, *, idempotency_key: str
    ) -> Capture:
        return Capture(amount_cents=amount_cents)

    async def refund(
        self, authorization_ref: str | None, amount_cents: int, *, idempotency_key: str
    ) -> Refund:
        return Refund(amount_cents=amount_cents)


class InvoiceProvider(_NothingToMove):
    """The buyer is invoiced at settlement and pays within its terms."""

    method = PaymentMethod.invoice

    def __init__(self, terms_days: int | None = None) -> None:
        self.terms_days = DEFAULT_PAYMENT_TERMS_DAYS if terms_days is None else terms_days

    async def authorize(
        self,
        *,
        amount_cents: int,
        currency: str,
        payment_method_id: str | None,
        customer_ref: str | None,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> Authorization:
        return Authorization(
            provider=self.method,
            status=AuthorizationStatus.not_required,
            amount_cents=amount_cents,
            currency=currency,
            due_in_days=self.terms_days,
        )


class CashOnDeliveryProvider(_NothingToMove):
    """The buyer pays the driver; nothing happens at placement."""

    method = PaymentMethod.cash_on_delivery

    async def authorize(
        self,
        *,
        amount_cents: int,
        currency: str,
        payment_method_id: str | None,
        customer_ref: str | None,
        idempotency_key: str,
        metadata: Mapping[str, str],
    ) -> Authorization:
        return Authorization(
            provider=self.method,
            status=AuthorizationStatus.not_required,
            amount_cents=amount_cents,
            currency=currency,
        )


def card_payments_enabled(settings: Settings) -> bool:
    return settings.stripe_api_key is not None and bool(settings.stripe_api_key.get_secret_value())


def provider_for(
    method: PaymentMethod | str, settings: Settings, *, payment_terms_days: int | None = None
) -> PaymentProvider:
    """The provider of a payment method; ``payment_terms_days`` is the invoice buyer's terms.

    Card without ``MINGA_STRIPE_API_KEY`` → 422 ``card_payments_unavailable``.
    """
    method = PaymentMethod(method)
    if method is PaymentMethod.invoice:
        return InvoiceProvider(payment_terms_days)
    if method is PaymentMethod.cash_on_delivery:
        return CashOnDeliveryProvider()
    if not card_payments_enabled(settings):
        raise CardPaymentsUnavailable(
            "This deployment has no Stripe key; choose invoice or cash_on_delivery"
        )
    from app.payments.stripe_provider import StripeProvider  # it imports this module

    return StripeProvider.from_settings(settings)

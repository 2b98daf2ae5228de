"""Errors of the payments domain, each with one status and a stable code."""

from __future__ import annotations

from app.core.problems import BadRequest, Conflict, NotFound, Problem

# Declared by orders, whose placement flow answers them; raised by the providers here.
from app.orders.exceptions import (
    CardPaymentsUnavailable,
    PaymentDeclined,
    PaymentMethodRequired,
)

__all__ = [
    "CardPaymentsUnavailable",
    "PaymentDeclined",
    "PaymentMethodRequired",
]


class PaymentAuthorizationNotFound(NotFound):
    code = "payment_authorization_not_found"
    title = "The order has no payment authorisation"


class PaymentNotChangeable(Conflict):
    code = "payment_not_changeable"
    title = "The payment is no longer in a state that allows this"


class CaptureExceedsAuthorization(Conflict):
    code = "capture_exceeds_authorization"
    title = "The final amount is above the amount the buyer authorised"


class PaymentProviderError(Problem):
    status = 502
    code = "payment_provider_error"
    title = "The payment provider refused or failed the request"


class PaymentProviderUnavailable(Problem):
    status = 503
    code = "payment_provider_unavailable"
    title = "The payment provider cannot be reached; try again later"


class InvalidSignature(BadRequest):
    code = "invalid_signature"
    title = "The webhook signature is missing or does not match"


class InvalidWebhookPayload(BadRequest):
    code = "invalid_webhook_payload"
    title = "The webhook body is not a Stripe event"


class WebhooksNotConfigured(Problem):
    """503: without a signing secret no event can be trusted; Stripe retries later."""

    status = 503
    code = "stripe_webhooks_not_configured"
    title = "Stripe webhooks are not configured on this deployment"

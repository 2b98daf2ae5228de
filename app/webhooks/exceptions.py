"""Errors of the webhooks domain, each with one status and a stable code."""

from __future__ import annotations

from app.core.problems import Conflict, InvalidInput, NotFound


class WebhookEndpointNotFound(NotFound):
    code = "webhook_endpoint_not_found"
    title = "Webhook endpoint not found"


class WebhookDeliveryNotFound(NotFound):
    code = "webhook_delivery_not_found"
    title = "Webhook delivery not found"


class WebhookUrlNotAllowed(InvalidInput):
    code = "webhook_url_not_allowed"
    title = "Webhooks are only sent to public http or https addresses"


class WebhookEndpointDisabled(Conflict):
    code = "webhook_endpoint_disabled"
    title = "The webhook endpoint is disabled"

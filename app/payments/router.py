"""HTTP endpoints of payments: the Stripe webhook (no login; the signature is the proof)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request

from app.api.deps import SessionDep, SettingsDep
from app.core.problems import responses
from app.core.schemas import PlainText
from app.payments import webhooks
from app.payments.exceptions import InvalidSignature, InvalidWebhookPayload, WebhooksNotConfigured
from app.payments.schemas import WebhookReceipt

router = APIRouter(tags=["payments"])


@router.post(
    "/payments/stripe/webhook",
    response_model=WebhookReceipt,
    responses=responses(InvalidSignature, InvalidWebhookPayload, WebhooksNotConfigured),
)
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    stripe_signature: Annotated[PlainText | None, Header(max_length=2048)] = None,
) -> WebhookReceipt:
    """Verify a Stripe event's signature, store it once and apply it to its authorisation."""
    return await webhooks.receive_stripe_event(
        session, settings, payload=await request.body(), signature=stripe_signature
    )

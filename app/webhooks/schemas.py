"""The API's shapes of webhook endpoints and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.core.ids import Id
from app.core.schemas import Strict
from app.webhooks.models import DeliveryState, EventType

Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class WebhookEndpointCreate(Strict):
    organization_id: Id
    url: Url = Field(description="http or https, on a public address; no redirects followed")
    events: list[EventType] = Field(min_length=1, max_length=len(EventType))


class WebhookEndpointPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    organization_id: str
    url: str
    events: list[str]
    is_active: bool
    created_by_user_id: str | None
    created_at: datetime
    disabled_at: datetime | None


class WebhookEndpointCreated(WebhookEndpointPublic):
    secret: str = Field(
        description="The signing secret (Standard Webhooks, `whsec_…`); shown once, store it now"
    )


class WebhookDeliveryPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str = Field(description="The `webhook-id` header: the same on every attempt")
    endpoint_id: str
    event_id: str
    event_type: str
    state: DeliveryState
    attempts: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None


class WebhookReplayAccepted(BaseModel):
    id: str
    state: DeliveryState

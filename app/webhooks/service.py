"""Webhook endpoints (registered by an organisation's admins) and their delivery log.
Functions take the session first and only flush."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.models import Role
from app.accounts.principal import Principal
from app.accounts.service import existing_organization
from app.core.config import Settings
from app.core.pagination import PageParams, encode_cursor, paginate
from app.core.timeutil import utcnow
from app.jobs import queue
from app.webhooks import urls
from app.webhooks.exceptions import (
    WebhookDeliveryNotFound,
    WebhookEndpointDisabled,
    WebhookEndpointNotFound,
)
from app.webhooks.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from app.webhooks.schemas import WebhookEndpointCreate, WebhookEndpointCreated

SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
SECRET_BYTES = 24
# attempts of one series: the first and the retries, about a day with the task's backoff
MAX_ATTEMPTS = 10

_d = WebhookDelivery.__table__  # type: ignore[attr-defined]


def new_secret() -> str:
    """A Standard Webhooks signing secret: ``whsec_`` and base64 of 24 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


async def create_endpoint(
    session: AsyncSession, principal: Principal, settings: Settings, data: WebhookEndpointCreate
) -> WebhookEndpointCreated:
    principal.require_member(data.organization_id, Role.admin)
    await existing_organization(session, data.organization_id)
    await urls.check_url(data.url, allow_private=settings.webhooks_allow_private_urls)
    events = list(dict.fromkeys(str(e) for e in data.events))  # in the order given, once each
    row = WebhookEndpoint(
        organization_id=data.organization_id,
        url=data.url,
        events=events,
        secret=new_secret(),
        created_by_user_id=principal.user_id,
    )
    session.add(row)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="webhook_endpoint.create",
        object_type="webhook_endpoint",
        object_id=row.id,
        organization_id=row.organization_id,
        changes=audit.diff(None, {"url": row.url, "events": events}),
    )
    return WebhookEndpointCreated.model_validate(row, from_attributes=True)


async def list_endpoints(
    session: AsyncSession, principal: Principal, organization_id: str, page: PageParams
) -> tuple[Sequence[WebhookEndpoint], str | None]:
    principal.require_member(organization_id, Role.admin)
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.organization_id == organization_id)
    return await paginate(session, stmt, key=col(WebhookEndpoint.id), params=page)


async def get_endpoint(
    session: AsyncSession, principal: Principal, endpoint_id: str
) -> WebhookEndpoint:
    """The endpoint, for its organisation's admins (404 for everyone outside it)."""
    row = await session.get(WebhookEndpoint, endpoint_id)
    if row is None:
        raise WebhookEndpointNotFound()
    principal.require_member(row.organization_id, Role.admin, not_found=WebhookEndpointNotFound)
    return row


async def disable_endpoint(session: AsyncSession, principal: Principal, endpoint_id: str) -> None:
    """Stop sending to the endpoint (its log stays); disabling twice changes nothing."""
    row = await get_endpoint(session, principal, endpoint_id)
    if not row.is_active:
        return
    row.is_active = False
    row.disabled_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        principal,
        action="webhook_endpoint.disable",
        object_type="webhook_endpoint",
        object_id=row.id,
        organization_id=row.organization_id,
    )


async def list_deliveries(
    session: AsyncSession, principal: Principal, endpoint_id: str, page: PageParams
) -> tuple[Sequence[WebhookDelivery], str | None]:
    """The endpoint's delivery log, newest first (ids are time-ordered)."""
    await get_endpoint(session, principal, endpoint_id)
    stmt = select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
    after = page.after()
    if after is not None:
        stmt = stmt.where(col(WebhookDelivery.id) < after)
    stmt = stmt.order_by(col(WebhookDelivery.id).desc()).limit(page.limit + 1)
    rows = (await session.scalars(stmt)).all()
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        return rows, encode_cursor(rows[-1].id)
    return rows, None


async def replay(
    session: AsyncSession, principal: Principal, endpoint_id: str, delivery_id: str
) -> WebhookDelivery:
    """Send the delivery again, with the same ``webhook-id``, whatever its state: a new
    series of attempts (a delivery that failed for a day gets another day)."""
    endpoint = await get_endpoint(session, principal, endpoint_id)
    if not endpoint.is_active:
        raise WebhookEndpointDisabled()
    row = await session.scalar(
        select(WebhookDelivery).where(
            WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint_id
        )
    )
    if row is None:
        raise WebhookDeliveryNotFound()
    await session.execute(
        update(_d)
        .where(_d.c.id == row.id)
        .values(
            state=DeliveryState.pending,
            attempt_limit=_d.c.attempts + MAX_ATTEMPTS,
            lease_until=None,
            next_attempt_at=utcnow(),
        )
    )
    await session.refresh(row)
    await queue.defer(session, "webhooks.deliver", {"delivery_id": row.id})
    return row

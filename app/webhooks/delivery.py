"""Delivering events to integrators' endpoints: ``fan_out`` (a subscriber of
``events.dispatch``) writes one delivery per subscribed endpoint in the event's transaction,
the ``webhooks.deliver`` job sends it, signed as Standard Webhooks asks.

As with notifications, a job claims its row for ``LEASE`` with a conditional UPDATE before it
talks to the endpoint, with no transaction open during the call, and records the answer after
it; a 2xx is success, anything else is retried with the job's backoff (3**n seconds: the ten
attempts span about a day), then the delivery is failed. A worker that died mid-send leaves a
row whose lease ends: the sweep defers it again. Receivers may thus see a delivery twice,
always with the same ``webhook-id``, which is how the specification says to drop the copy.
"""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from standardwebhooks.webhooks import Webhook

from app.core.config import Settings
from app.core.db import transaction
from app.core.ids import new_id
from app.core.timeutil import utcnow
from app.events.models import DomainEvent
from app.jobs import queue
from app.jobs.tasks import JobContext, periodic, task
from app.webhooks import urls
from app.webhooks.exceptions import WebhookUrlNotAllowed
from app.webhooks.models import DeliveryState, EventType, WebhookDelivery, WebhookEndpoint
from app.webhooks.service import MAX_ATTEMPTS

log = logging.getLogger(__name__)
_d = WebhookDelivery.__table__  # type: ignore[attr-defined]
_e = WebhookEndpoint.__table__  # type: ignore[attr-defined]

BASE_WAIT_SECONDS = 3
TIMEOUT_SECONDS = 10.0
# longer than a delivery may take: the URL's resolution (5 s) and the request (10 s)
LEASE = timedelta(seconds=60)
# a pending delivery whose retry is this late lost its job: the sweep defers it again
LOST_AFTER = timedelta(minutes=5)
USER_AGENT = "Minga-Webhooks/1"
SUBSCRIBABLE = frozenset(str(t) for t in EventType)


class DeliveryFailed(Exception):
    """The endpoint did not take the delivery (the job engine retries it)."""


def body_of(event: DomainEvent) -> dict[str, Any]:
    return {"type": event.type, "timestamp": event.created_at.isoformat(), "data": event.payload}


def encode(payload: dict[str, Any]) -> bytes:
    """The bytes sent and signed: the same for a payload on every attempt."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


async def fan_out(session: AsyncSession, settings: Settings, event: DomainEvent) -> None:
    """One delivery of ``event`` per active endpoint of its audience subscribed to its type."""
    if event.type not in SUBSCRIBABLE or not event.audience:
        return
    endpoints = await session.execute(
        select(_e.c.id, _e.c.events).where(
            _e.c.is_active.is_(True), _e.c.organization_id.in_(list(event.audience))
        )
    )
    wanted = [endpoint_id for endpoint_id, events in endpoints if event.type in (events or [])]
    if not wanted:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    body = body_of(event)
    for endpoint_id in sorted(wanted):
        delivery_id = new_id()
        inserted = await session.execute(
            insert(_d)
            .values(
                id=delivery_id,
                endpoint_id=endpoint_id,
                event_id=event.id,
                event_type=event.type,
                payload=body,
                state=DeliveryState.pending,
                attempts=0,
                attempt_limit=MAX_ATTEMPTS,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["endpoint_id", "event_id"])
            .returning(_d.c.id)
        )
        if inserted.scalar() is not None:
            await queue.defer(session, "webhooks.deliver", {"delivery_id": delivery_id})


@dataclass(frozen=True)
class Claimed:
    id: str
    attempts: int
    attempt_limit: int
    payload: dict[str, Any]
    url: str
    secret: str
    endpoint_active: bool


async def _claim(ctx: JobContext, delivery_id: str) -> Claimed | None:
    now = utcnow()
    async with transaction(ctx.sessionmaker) as session:
        row = (
            await session.execute(
                update(_d)
                .where(
                    _d.c.id == delivery_id,
                    or_(
                        _d.c.state == DeliveryState.pending,
                        (_d.c.state == DeliveryState.sending) & (_d.c.lease_until < now),
                    ),
                )
                .values(
                    state=DeliveryState.sending, lease_until=now + LEASE, attempts=_d.c.attempts + 1
                )
                .returning(_d.c.attempts, _d.c.attempt_limit, _d.c.payload, _d.c.endpoint_id)
            )
        ).first()
        if row is None:
            return None  # succeeded, failed, or another worker holds it
        attempts, limit, payload, endpoint_id = row
        endpoint = (
            await session.execute(
                select(_e.c.url, _e.c.secret, _e.c.is_active).where(_e.c.id == endpoint_id)
            )
        ).one()
    return Claimed(delivery_id, attempts, limit, payload, endpoint[0], endpoint[1], endpoint[2])


async def _finish(ctx: JobContext, delivery_id: str, values: dict[str, Any]) -> None:
    async with transaction(ctx.sessionmaker) as session:
        await session.execute(update(_d).where(_d.c.id == delivery_id).values(**values))


def signed_headers(secret: str, msg_id: str, at: datetime, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, at, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


async def post(settings: Settings, claimed: Claimed) -> int:
    """Send the delivery; the endpoint's status code (any: the caller judges it)."""
    addresses = await urls.check_url(
        claimed.url, allow_private=settings.webhooks_allow_private_urls
    )
    body = encode(claimed.payload)
    headers = signed_headers(claimed.secret, claimed.id, utcnow(), body)
    target: httpx.URL | str = claimed.url
    extensions: dict[str, Any] = {}
    if addresses:
        target, host, extensions = urls.pinned(claimed.url, addresses[0])
        headers |= host
    async with httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client:
        response = await client.post(target, content=body, headers=headers, extensions=extensions)
    return response.status_code


def _error(exc: BaseException) -> str:
    if isinstance(exc, DeliveryFailed):
        return str(exc)[:2000]
    if isinstance(exc, WebhookUrlNotAllowed):
        return f"{exc.title}: {exc.detail}"[:2000]
    return "".join(traceback.format_exception_only(exc)).strip()[:2000]


@task("webhooks.deliver", max_attempts=MAX_ATTEMPTS, base_wait_seconds=BASE_WAIT_SECONDS)
async def deliver(ctx: JobContext, delivery_id: str) -> None:
    claimed = await _claim(ctx, delivery_id)
    if claimed is None:
        return
    if not claimed.endpoint_active:
        await _finish(
            ctx,
            claimed.id,
            {
                "state": DeliveryState.failed,
                "lease_until": None,
                "next_attempt_at": None,
                "last_error": "the endpoint was disabled",
            },
        )
        return
    status: int | None = None
    try:
        status = await post(ctx.settings, claimed)
        if not 200 <= status < 300:
            raise DeliveryFailed(f"the endpoint answered {status}")
    except Exception as exc:
        error = _error(exc)
        final = claimed.attempts >= claimed.attempt_limit
        wait = timedelta(seconds=BASE_WAIT_SECONDS ** (claimed.attempts + 1))
        await _finish(
            ctx,
            claimed.id,
            {
                "state": DeliveryState.failed if final else DeliveryState.pending,
                "lease_until": None,
                "next_attempt_at": None if final else utcnow() + wait,
                "last_status_code": status,
                "last_error": error,
            },
        )
        if final:
            log.warning("gave up webhook delivery %s: %s", claimed.id, error)
            return
        raise DeliveryFailed(error) from exc  # the job engine retries it, with backoff
    await _finish(
        ctx,
        claimed.id,
        {
            "state": DeliveryState.succeeded,
            "lease_until": None,
            "next_attempt_at": None,
            "delivered_at": utcnow(),
            "last_status_code": status,
            "last_error": None,
        },
    )


@periodic("webhooks.sweep", every_seconds=60)
async def sweep(ctx: JobContext) -> None:
    """Send again what a dead worker held (its lease is over) or what lost its job."""
    now = utcnow()
    lost = now - LOST_AFTER
    async with transaction(ctx.sessionmaker) as session:
        ids = await session.scalars(
            select(_d.c.id)
            .where(
                or_(
                    (_d.c.state == DeliveryState.sending) & (_d.c.lease_until < now),
                    (_d.c.state == DeliveryState.pending)
                    & or_(
                        _d.c.next_attempt_at < lost,
                        _d.c.next_attempt_at.is_(None) & (_d.c.created_at < lost),
                    ),
                )
            )
            .limit(1000)
        )
        for delivery_id in ids:
            await queue.defer(session, "webhooks.deliver", {"delivery_id": delivery_id})

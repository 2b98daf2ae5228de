"""Writing notifications (in the transaction of what they tell), each person's choices, and
sending them (the ``notifications.send`` job).

Sending is at most once per row in the common case and exactly once in the one that matters,
a worker killed mid-send: a worker claims a row for ``notification_lease_seconds`` with a
conditional UPDATE before it talks to the SMTP server and marks it sent right after the
server's 250; a row whose worker died is claimed again once its lease ends. The one window
left is a crash between the server's 250 and that mark (milliseconds), which SMTP itself
cannot close: the receiving server would then get the message twice.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.config import Settings
from app.core.db import transaction
from app.core.i18n import country_language
from app.core.ids import new_id
from app.core.timeutil import utcnow
from app.jobs import queue
from app.jobs.tasks import JobContext, periodic, task
from app.notifications import mail
from app.notifications.kinds import KINDS
from app.notifications.models import Notification, NotificationPreference, NotificationState

log = logging.getLogger(__name__)
_n = Notification.__table__  # type: ignore[attr-defined]
_prefs = NotificationPreference.__table__  # type: ignore[attr-defined]

# context entries that must not outlive the sending (reset and confirmation links): a
# ``link_path`` becomes the ``link`` of the message under MINGA_PUBLIC_BASE_URL
SECRET_CONTEXT = ("link", "link_path")


def language_of(user_language: str | None, country: str | None) -> str:
    """A person's own language, else their organisation's country's, else Spanish."""
    if user_language in mail.LANGUAGES:
        return str(user_language)
    return country_language(country) or ("es" if country is None else "en")


MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class Recipient:
    user_id: str | None
    email: str
    language: str  # es, en


# Attachments are made when the message is sent, by the domain that owns the document:
# ``{"type": "invoice", "id": …}`` → (file name, content type, bytes). Installed by the wiring.
Attachment = tuple[str, str, bytes]
AttachmentMaker = Callable[[AsyncSession, Settings, str, str], Awaitable[Attachment | None]]
attachment_makers: dict[str, AttachmentMaker] = {}


async def disabled_for(session: AsyncSession, user_ids: Sequence[str], kind: str) -> set[str]:
    if not user_ids:
        return set()
    rows = await session.scalars(
        select(_prefs.c.user_id).where(
            _prefs.c.user_id.in_(list(user_ids)), _prefs.c.kind == kind, _prefs.c.enabled.is_(False)
        )
    )
    return set(rows)


async def notify(
    session: AsyncSession,
    *,
    kind: str,
    event_key: str,
    recipients: Sequence[Recipient],
    context: dict[str, Any],
) -> int:
    """Write one message of ``kind`` per recipient (those who turned the kind off get none;
    one event is told once per person) and defer its sending; how many were written."""
    spec = KINDS[kind]
    off = (
        await disabled_for(session, [r.user_id for r in recipients if r.user_id], kind)
        if spec.optional
        else set()
    )
    seen: set[str] = set()
    written = 0
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for r in recipients:
        who = r.user_id or r.email
        if (r.user_id and r.user_id in off) or who in seen:
            continue
        seen.add(who)
        row_id = new_id()
        inserted = await session.execute(
            insert(_n)
            .values(
                id=row_id,
                user_id=r.user_id,
                email=r.email,
                language=r.language if r.language in mail.LANGUAGES else "es",
                kind=kind,
                event_key=event_key,
                context=context,
                state=NotificationState.pending,
                attempts=0,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing()
            .returning(_n.c.id)
        )
        if inserted.scalar() is not None:
            written += 1
            await queue.defer(session, "notifications.send", {"notification_id": row_id})
    return written


async def preferences(session: AsyncSession, user_id: str) -> dict[str, bool]:
    rows = await session.execute(
        select(_prefs.c.kind, _prefs.c.enabled).where(_prefs.c.user_id == user_id)
    )
    chosen: dict[str, bool] = dict(rows.tuples().all())
    return {name: chosen.get(name, True) if k.optional else True for name, k in KINDS.items()}


async def set_preferences(session: AsyncSession, user_id: str, changes: dict[str, bool]) -> None:
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for kind, enabled in changes.items():
        stmt = insert(_prefs).values(user_id=user_id, kind=kind, enabled=enabled)
        await session.execute(
            stmt.on_conflict_do_update(
                index_elements=["user_id", "kind"], set_={"enabled": stmt.excluded.enabled}
            )
        )


async def _claim(ctx: JobContext, notification_id: str) -> Notification | None:
    now = utcnow()
    lease = now + timedelta(seconds=ctx.settings.notification_lease_seconds)
    async with transaction(ctx.sessionmaker) as session:
        claimed = await session.execute(
            update(_n)
            .where(
                _n.c.id == notification_id,
                or_(
                    _n.c.state == NotificationState.pending,
                    (_n.c.state == NotificationState.sending) & (_n.c.lease_until < now),
                ),
            )
            .values(state=NotificationState.sending, lease_until=lease, attempts=_n.c.attempts + 1)
            .returning(_n.c.id)
        )
        if claimed.scalar() is None:
            return None  # sent, failed, or another worker holds it
        return await session.get(Notification, notification_id)


async def _finish(ctx: JobContext, notification_id: str, values: dict[str, Any]) -> None:
    async with transaction(ctx.sessionmaker) as session:
        await session.execute(update(_n).where(_n.c.id == notification_id).values(**values))


@task("notifications.send", max_attempts=MAX_ATTEMPTS)
async def send(ctx: JobContext, notification_id: str) -> None:
    row = await _claim(ctx, notification_id)
    if row is None:
        return
    try:
        attachments: list[Attachment] = []
        wanted = row.context.get("attachment")
        if isinstance(wanted, dict) and wanted.get("type") in attachment_makers:
            async with transaction(ctx.sessionmaker, write=False) as session:
                made = await attachment_makers[wanted["type"]](
                    session, ctx.settings, str(wanted["id"]), row.language
                )
            if made is not None:
                attachments.append(made)
        message = mail.compose(ctx.settings, row, attachments)
        await mail.deliver(ctx.settings, message)
    except Exception as exc:
        error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
        final = row.attempts >= MAX_ATTEMPTS
        await _finish(
            ctx,
            row.id,
            {
                "state": NotificationState.failed if final else NotificationState.pending,
                "last_error": error,
                # the sweep leaves it to the job's own retry until then
                "lease_until": utcnow() + timedelta(seconds=3 ** (row.attempts + 1)),
            },
        )
        if final:
            log.error("gave up sending notification %s: %s", row.id, error)
            return
        raise  # the job engine retries it, with backoff
    scrubbed = {k: v for k, v in row.context.items() if k not in SECRET_CONTEXT}
    await _finish(
        ctx,
        row.id,
        {
            "state": NotificationState.sent,
            "sent_at": utcnow(),
            "lease_until": None,
            "message_id": message["Message-ID"],
            "last_error": None,
            "context": scrubbed,
        },
    )


@periodic("notifications.sweep", every_seconds=30, every_setting="jobs_sweep_seconds")
async def sweep(ctx: JobContext) -> None:
    """Send again what a dead worker held (its lease is over) or what lost its job."""
    now = utcnow()
    stale_pending = now - timedelta(seconds=ctx.settings.notification_lease_seconds)
    async with transaction(ctx.sessionmaker) as session:
        ids = await session.scalars(
            select(_n.c.id)
            .where(
                or_(
                    (_n.c.state == NotificationState.sending) & (_n.c.lease_until < now),
                    (_n.c.state == NotificationState.pending)
                    & (_n.c.created_at < stale_pending)
                    & or_(_n.c.lease_until.is_(None), _n.c.lease_until < now),
                )
            )
            .limit(1000)
        )
        for notification_id in ids:
            await queue.defer(session, "notifications.send", {"notification_id": notification_id})

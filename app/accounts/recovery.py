"""A forgotten password, and a new e-mail address: single-use links mailed to the person.

``POST /auth/password-reset`` answers 202 at once, the same for every address: the request
only counts itself (throttled per address asked for and per client) and defers the job
``accounts.password_reset``, which looks the account up and, if there is one, mails the link.
So neither the answer nor its time says whether an account has that e-mail. The link's token
(256 random bits; only its SHA-256 is stored) works once, for ``account_token_minutes``;
using it sets the new password and ends every session: access tokens issued before stop
working. A new e-mail address is confirmed the same way, from a link sent to it.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.accounts import audit, passwords, throttle
from app.accounts.exceptions import (
    AccountTokenInvalid,
    CurrentPasswordWrong,
    EmailTaken,
    PasswordResetThrottled,
)
from app.accounts.models import AccountToken, Membership, Organization, User
from app.accounts.principal import Principal
from app.core.config import Settings
from app.core.db import transaction
from app.core.security import AccessToken, create_access_token, hash_password, verify_password
from app.core.timeutil import utcnow
from app.jobs import queue
from app.jobs.tasks import JobContext, task
from app.notifications.service import Recipient, language_of, notify

TOKEN_BYTES = 32
_tokens = AccountToken.__table__  # type: ignore[attr-defined]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _normal(email: str) -> str:
    return email.strip().lower()


async def request_reset(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    email: str,
    client_address: str,
) -> None:
    """Count the request and defer the job: the same two statements for every address."""
    now = utcnow()
    hour = timedelta(hours=1)
    limits = [
        throttle.Limit(f"reset:{_normal(email)}"[:300], settings.password_reset_per_hour, hour),
        throttle.Limit(
            f"reset-from:{client_address}"[:300], settings.password_reset_per_hour * 4, hour
        ),
    ]
    async with transaction(sessionmaker) as session:
        taken = await throttle.take(session, limits, now=now)
        if not taken.wait:
            await queue.defer(session, "accounts.password_reset", {"email": _normal(email)})
    if taken.wait:
        raise PasswordResetThrottled(retry_after=taken.wait)


async def _recipient(session: AsyncSession, user: User) -> Recipient:
    country = await session.scalar(
        select(Organization.country)
        .join(Membership, col(Membership.organization_id) == col(Organization.id))
        .where(Membership.user_id == user.id)
        .limit(1)
    )
    return Recipient(user.id, user.email, language_of(user.language, country))


async def _issue(
    session: AsyncSession,
    settings: Settings,
    user: User,
    *,
    purpose: str,
    new_email: str | None = None,
) -> tuple[AccountToken, str]:
    """A new token for ``purpose``; the person's earlier unused ones of it stop working."""
    now = utcnow()
    await session.execute(
        update(_tokens)
        .where(
            _tokens.c.user_id == user.id,
            _tokens.c.purpose == purpose,
            _tokens.c.used_at.is_(None),
        )
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(TOKEN_BYTES)
    row = AccountToken(
        user_id=user.id,
        purpose=purpose,
        token_hash=token_hash(token),
        new_email=new_email,
        created_at=now,
        expires_at=now + timedelta(minutes=settings.account_token_minutes),
    )
    session.add(row)
    await session.flush()
    return row, token


@task("accounts.password_reset", max_attempts=5)
async def send_reset(ctx: JobContext, email: str) -> None:
    async with transaction(ctx.sessionmaker) as session:
        user = await session.scalar(
            select(User).where(func.lower(User.email) == email, col(User.is_active))
        )
        if user is None:
            return  # no account: nothing is sent, and the asker was told the same
        row, token = await _issue(session, ctx.settings, user, purpose="password_reset")
        await notify(
            session,
            kind="password_reset",
            event_key=row.id,
            recipients=[await _recipient(session, user)],
            context={
                "full_name": user.full_name,
                "minutes": ctx.settings.account_token_minutes,
                "link_path": f"/account/password-reset?token={token}",
            },
        )


async def _use(session: AsyncSession, token: str, purpose: str) -> AccountToken:
    """Take the token: once, before it expires; any other token is the same 422."""
    now = utcnow()
    used = await session.execute(
        update(_tokens)
        .where(
            _tokens.c.token_hash == token_hash(token),
            _tokens.c.purpose == purpose,
            _tokens.c.used_at.is_(None),
            _tokens.c.expires_at > now,
        )
        .values(used_at=now)
        .returning(_tokens.c.id)
    )
    token_id = used.scalar()
    if token_id is None:
        raise AccountTokenInvalid(errors=[{"field": "token", "detail": "unknown, used or expired"}])
    row = await session.get(AccountToken, token_id)
    assert row is not None
    return row


async def confirm_reset(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    token: str,
    new_password: str,
) -> AccessToken:
    async with transaction(sessionmaker, write=False) as session:
        row = await session.scalar(
            select(AccountToken).where(AccountToken.token_hash == token_hash(token))
        )
        user = await session.get(User, row.user_id) if row is not None else None
    # the policy is checked before the token is spent: a weak choice can be corrected
    passwords.check_password(new_password, email=user.email if user else None, field="new_password")
    new_hash = hash_password(new_password)  # outside any transaction (argon2 takes a while)
    async with transaction(sessionmaker) as session:
        used = await _use(session, token, "password_reset")
        user = await session.get(User, used.user_id, with_for_update=True)
        if user is None or not user.is_active:
            raise AccountTokenInvalid()
        now = utcnow()
        user.password_hash = new_hash
        user.credentials_changed_at = now  # every session ends
        await throttle.clear(session, throttle.account_key(user.email))
        await audit.record(
            session,
            Principal(user_id=user.id, email=user.email),
            action="user.password_reset",
            object_type="user",
            object_id=user.id,
            organization_id=None,
        )
    return create_access_token(settings, subject=user.id)


async def request_email_change(
    session: AsyncSession,
    settings: Settings,
    principal: Principal,
    *,
    new_email: str,
    current_password: str,
) -> None:
    """Mail a confirmation link to the new address; nothing changes until it is used. The
    answer is the same whether or not another account has that address."""
    assert principal.user_id is not None
    user = await session.get(User, principal.user_id)
    assert user is not None
    if not verify_password(current_password, user.password_hash):
        raise CurrentPasswordWrong(
            "Give your current password to change your e-mail address",
            errors=[{"field": "current_password", "detail": "not the current password"}],
        )
    row, token = await _issue(
        session, settings, user, purpose="email_change", new_email=_normal(new_email)
    )
    recipient = await _recipient(session, user)
    await notify(
        session,
        kind="email_change",
        event_key=row.id,
        recipients=[Recipient(None, _normal(new_email), recipient.language)],
        context={
            "full_name": user.full_name,
            "new_email": _normal(new_email),
            "minutes": settings.account_token_minutes,
            "link_path": f"/account/email-change?token={token}",
        },
    )


async def confirm_email_change(session: AsyncSession, *, token: str) -> User:
    row = await _use(session, token, "email_change")
    user = await session.get(User, row.user_id, with_for_update=True)
    if user is None or not user.is_active or row.new_email is None:
        raise AccountTokenInvalid()
    taken = await session.scalar(
        select(User.id).where(func.lower(User.email) == row.new_email, User.id != user.id)
    )
    if taken is not None:
        raise EmailTaken()
    before = user.email
    user.email = row.new_email
    await session.flush()
    await audit.record(
        session,
        Principal(user_id=user.id, email=before),
        action="user.email_changed",
        object_type="user",
        object_id=user.id,
        organization_id=None,
        changes=audit.diff({"email": before}, {"email": user.email}),
    )
    return user

"""Logging in, and turning a bearer token or an API key into a ``Principal``."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy import select as sa_select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from sqlmodel import col, select

from app.accounts import audit, passwords, throttle
from app.accounts.exceptions import (
    CurrentPasswordWrong,
    InvalidCredentials,
    InvalidToken,
    LoginThrottled,
)
from app.accounts.models import ApiKey, Membership, Organization, Role, User
from app.accounts.principal import Principal
from app.core.config import Settings
from app.core.db import transaction
from app.core.i18n import country_language
from app.core.security import (
    AccessToken,
    api_key_matches,
    api_key_prefix,
    create_access_token,
    decode_access_token,
    hash_password,
    verify_password,
)
from app.core.timeutil import utcnow


async def login(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    email: str,
    password: str,
    client_address: str,
) -> AccessToken:
    """Count the attempt, then check the password (see ``throttle``)."""
    now = utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    pair = throttle.pair_key(email, client_address)
    account = throttle.account_key(email)
    limits = [
        throttle.Limit(pair, settings.login_max_failures_per_account, window),
        throttle.Limit(
            throttle.address_key(client_address), settings.login_max_failures_per_address, window
        ),
        throttle.Limit(
            account,
            settings.login_max_failures_per_account_anywhere,
            timedelta(seconds=settings.login_account_window_seconds),
        ),
    ]
    async with transaction(sessionmaker) as session:
        taken = await throttle.take(session, limits, now=now)
    if taken.wait:
        raise LoginThrottled(retry_after=taken.wait)
    async with transaction(sessionmaker, write=False) as session:
        user = await session.scalar(
            select(User).where(func.lower(User.email) == email.strip().lower())
        )
    ok = verify_password(password, user.password_hash if user else None)
    if not ok or user is None or not user.is_active:
        raise InvalidCredentials()
    async with transaction(sessionmaker) as session:
        await throttle.succeeded(
            session,
            clear=[pair],
            give_back=[account, throttle.address_key(client_address)],
            taken=taken,
        )
    return create_access_token(settings, subject=user.id)


async def change_password(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    principal: Principal,
    *,
    current: str,
    new: str,
    client_address: str,
) -> AccessToken:
    """A person changes their own password, giving the current one: counted by the login's
    throttle (a stolen token must not become a way to guess the password), checked by the
    password policy, and every access token issued before stops working; the answer is a
    new one. As in ``login``, the counting commits on its own and the hashes are computed
    outside any transaction."""
    assert principal.user_id is not None  # a person's login (the endpoint asks for one)
    assert principal.email is not None
    now = utcnow()
    window = timedelta(seconds=settings.login_window_seconds)
    pair = throttle.pair_key(principal.email, client_address)
    account = throttle.account_key(principal.email)
    limits = [
        throttle.Limit(pair, settings.login_max_failures_per_account, window),
        throttle.Limit(
            account,
            settings.login_max_failures_per_account_anywhere,
            timedelta(seconds=settings.login_account_window_seconds),
        ),
    ]
    async with transaction(sessionmaker) as session:
        taken = await throttle.take(session, limits, now=now)
    if taken.wait:
        raise LoginThrottled(retry_after=taken.wait)
    async with transaction(sessionmaker, write=False) as session:
        stored = await session.scalar(
            select(User.password_hash).where(User.id == principal.user_id)
        )
    if not verify_password(current, stored):
        raise CurrentPasswordWrong(
            "Give your current password to set a new one",
            errors=[{"field": "current_password", "detail": "not the current password"}],
        )
    passwords.check_password(new, email=principal.email, field="new_password")
    new_hash = hash_password(new)
    async with transaction(sessionmaker) as session:
        user = await session.get(User, principal.user_id, with_for_update=True)
        if user is None or not user.is_active:
            raise InvalidToken("The account of this token no longer exists or is disabled")
        user.password_hash = new_hash
        user.credentials_changed_at = now
        await audit.record(
            session,
            principal,
            action="user.password_changed",
            object_type="user",
            object_id=user.id,
            organization_id=None,
        )
        await throttle.succeeded(session, clear=[pair], give_back=[account], taken=taken)
    return create_access_token(settings, subject=principal.user_id)


# Prebuilt once: the principal is read on every request, and a statement built per request
# costs as much again as the query itself. Roles are read on every request, never cached
# across requests, so a removed membership stops granting at once.
PRINCIPAL_OF_USER = (
    sa_select(
        col(User.id),
        col(User.email),
        col(User.is_platform_admin),
        col(User.is_active),
        col(User.language),
        col(User.credentials_changed_at),
        col(Membership.organization_id),
        col(Membership.role),
        col(Organization.country),
    )
    .outerjoin(Membership, col(Membership.user_id) == col(User.id))
    .outerjoin(Organization, col(Organization.id) == col(Membership.organization_id))
    .where(col(User.id) == bindparam("user_id"))
)
PRINCIPAL_OF_API_KEY = (
    sa_select(
        col(ApiKey.id),
        col(ApiKey.organization_id),
        col(ApiKey.role),
        col(ApiKey.key_hash),
        col(Organization.country),
    )
    .join(Organization, col(Organization.id) == col(ApiKey.organization_id))
    .where(col(ApiKey.prefix) == bindparam("prefix"), col(ApiKey.revoked_at).is_(None))
)

Executor = AsyncSession | AsyncConnection


async def principal_from_token(db: Executor, settings: Settings, token: str) -> Principal:
    """The token's user with the roles it holds now, read in one query on every request (a
    removed membership stops granting at once), and the languages of the user and of the
    user's organisations' country. ``db`` is the request's session, or a connection outside
    any transaction for reads that need nothing else (the cached catalogue)."""
    claims = decode_access_token(settings, token)
    if claims is None:
        raise InvalidToken("The access token is invalid or has expired")
    rows = (await db.execute(PRINCIPAL_OF_USER, {"user_id": claims["sub"]})).all()
    if not rows or not rows[0].is_active:
        raise InvalidToken("The account of this token no longer exists or is disabled")
    first = rows[0]
    if issued_before(claims, first.credentials_changed_at):
        raise InvalidToken("The password changed after this token was issued; log in again")
    network_languages = sorted({lang for r in rows if (lang := country_language(r.country))})
    return Principal(
        user_id=first.id,
        email=first.email,
        is_platform_admin=first.is_platform_admin,
        roles={r.organization_id: Role(r.role) for r in rows if r.organization_id is not None},
        language=first.language,
        network_language=network_languages[0] if network_languages else None,
    )


def issued_before(claims: dict[str, Any], changed_at: datetime | None) -> bool:
    """Whether the token was issued before the account's password changed. Tokens count in
    whole seconds, so one issued in the second of the change still works: the token handed
    out with the change is issued in that second."""
    if changed_at is None:
        return False
    return int(claims["iat"]) < int(changed_at.timestamp())


async def principal_from_api_key(db: Executor, key: str) -> Principal:
    prefix = api_key_prefix(key)
    found = None
    if prefix is not None:
        found = (await db.execute(PRINCIPAL_OF_API_KEY, {"prefix": prefix})).first()
    if found is None or not api_key_matches(key, found.key_hash):
        raise InvalidToken("The API key is invalid or has been revoked")
    return Principal(
        user_id=None,
        api_key_id=found.id,
        roles={found.organization_id: Role(found.role)},
        network_language=country_language(found.country),
    )

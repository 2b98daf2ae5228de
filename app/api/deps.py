"""Shared dependencies: short typed aliases that make every endpoint signature read well."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.accounts import authentication
from app.accounts.principal import Principal
from app.core.config import Settings
from app.core.db import transaction
from app.core.i18n import note_user
from app.core.problems import Forbidden, Unauthenticated

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


async def get_session(
    request: Request, sessionmaker: SessionmakerDep
) -> AsyncIterator[AsyncSession]:
    """One transaction per request, committed before the response is sent."""
    async with transaction(sessionmaker, write=request.method not in READ_METHODS) as session:
        yield session


# scope="function": the commit runs before the answer goes out, so a failed commit is an error
# answer, never a 201 for something that was not stored.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)


async def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    if token:
        principal = await authentication.principal_from_token(session, settings, token)
    elif api_key:
        principal = await authentication.principal_from_api_key(session, api_key)
    else:
        raise Unauthenticated("Log in with POST /api/v1/auth/token or send an X-API-Key")
    # the answer's language, when the request's Accept-Language does not name one
    note_user(principal.language, principal.network_language)
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


class UserRequired(Forbidden):
    code = "user_required"
    title = "This needs a person's login, not an API key"


async def get_current_user(principal: CurrentPrincipal) -> Principal:
    if principal.user_id is None:
        raise UserRequired()
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


async def get_platform_admin(principal: CurrentPrincipal) -> Principal:
    principal.require_platform_admin()
    return principal


PlatformAdmin = Annotated[Principal, Depends(get_platform_admin)]

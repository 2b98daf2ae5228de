"""Shared dependencies: short typed aliases that make every endpoint signature read well."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.accounts import authentication
from app.accounts.principal import Principal
from app.core.config import Settings
from app.core.db import transaction
from app.core.i18n import N_, note_user
from app.core.problems import Forbidden, Unauthenticated
from app.core.storage import ObjectStore

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# Every dependency is async: a sync one is run in the thread pool, a hop that costs more than
# the work it does on the hot paths.
async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    return sessionmaker


async def get_object_store(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.object_store
    return store


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]
ObjectStoreDep = Annotated[ObjectStore, Depends(get_object_store)]


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


async def _principal(
    db: authentication.Executor, settings: Settings, token: str | None, api_key: str | None
) -> Principal | None:
    if token:
        principal = await authentication.principal_from_token(db, settings, token)
    elif api_key:
        principal = await authentication.principal_from_api_key(db, api_key)
    else:
        return None
    # the answer's language, when the request's Accept-Language does not name one
    note_user(principal.language, principal.network_language)
    return principal


def _unauthenticated() -> Unauthenticated:
    # N_: returned, not raised here, so the extraction needs the mark to find it
    return Unauthenticated(N_("Log in with POST /api/v1/auth/token or send an X-API-Key"))


async def get_principal(
    session: SessionDep,
    settings: SettingsDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    """The caller, read in the request's transaction (one prebuilt Core query)."""
    principal = await _principal(session, settings, token, api_key)
    if principal is None:
        raise _unauthenticated()
    return principal


CurrentPrincipal = Annotated[Principal, Depends(get_principal)]


def reader_engine(request: Request) -> AsyncEngine:
    """The engine for reads that need no transaction: on PostgreSQL in autocommit, so that one
    query is one round trip (no BEGIN, no ROLLBACK); SQLite has no round trips to save."""
    state = request.app.state
    engine: AsyncEngine | None = getattr(state, "reader_engine", None)
    if engine is None:
        engine = state.engine
        if engine.dialect.name != "sqlite":
            engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        state.reader_engine = engine
    return engine


async def get_principal_or_anonymous(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal | None:
    """The caller read outside any transaction, or None when no credentials were sent; for
    reads served from what is in memory (the cached catalogue), which need nothing else.
    The settings come from the app's state, not from a dependency: this is the hottest
    read's, and each dependency costs as much as a header lookup many times over."""
    if not token and not api_key:
        return None
    async with reader_engine(request).connect() as conn:
        return await _principal(conn, request.app.state.settings, token, api_key)


PrincipalOrAnonymous = Annotated[Principal | None, Depends(get_principal_or_anonymous)]


def require(principal: Principal | None) -> Principal:
    """401 for an anonymous caller."""
    if principal is None:
        raise _unauthenticated()
    return principal


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

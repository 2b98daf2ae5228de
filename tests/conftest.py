"""Tests go through the HTTP API on a real, migrated database.

SQLite by default; PostgreSQL when ``MINGA_TEST_DATABASE_URL`` is set. The schema is made once
per run by the Alembic migrations; every test starts from empty tables (plus the first admin).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from app.core import migrate
from app.core.config import Environment, Settings
from app.core.db import metadata
from app.main import bootstrap, create_app
from tests.utils import ADMIN_EMAIL, ADMIN_PASSWORD, Api

TEST_DATABASE_URL = os.environ.get("MINGA_TEST_DATABASE_URL")


def pytest_report_header() -> str:
    return f"minga test database: {'PostgreSQL' if TEST_DATABASE_URL else 'SQLite'}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = TEST_DATABASE_URL or f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    migrate.upgrade(url)
    return url


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(
        environment=Environment.test,
        database_url=database_url,
        first_admin_email=ADMIN_EMAIL,
        first_admin_password=ADMIN_PASSWORD,
        login_max_failures_per_account=5,
        login_max_failures_per_address=12,
        log_level="WARNING",
        scheduler_enabled=False,
        # cheap hashes keep the suite fast; production keeps argon2's default cost
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture(scope="session")
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(settings)
    yield application
    await application.state.engine.dispose()


# Reference data that the migrations seed stays; everything else is emptied after each test.
SEEDED_TABLES = frozenset({"categories"})


async def empty_tables(app: FastAPI) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables) if t.name not in SEEDED_TABLES]
    async with app.state.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - our table names


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    await bootstrap(app)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
    await empty_tables(app)


@pytest.fixture
async def api(client: httpx.AsyncClient) -> Api:
    """The client with helpers to log in and build organisations and members."""
    return Api(client)


@pytest.fixture
def project_root() -> Path:
    return Path(__file__).resolve().parents[1]

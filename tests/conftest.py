"""Tests go through the HTTP API on a real, migrated database.

SQLite by default; PostgreSQL when ``MINGA_TEST_DATABASE_URL`` is set. The schema is made once
per run by the Alembic migrations; every test starts from empty tables (plus the first admin).

Under pytest-xdist (``make test`` runs ``pytest -n auto``) every worker has a database of its
own: a SQLite file in its own temporary folder, or ``<database>_gw0``, ``<database>_gw1``… next
to the PostgreSQL database of ``MINGA_TEST_DATABASE_URL`` (see ``tests.utils.databases``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator, Iterator
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
from tests.utils.databases import (
    MASTER,
    create_database,
    drop_database,
    worker_database_url,
    worker_id,
)

TEST_DATABASE_URL = os.environ.get("MINGA_TEST_DATABASE_URL")


def pytest_report_header(config: pytest.Config) -> str:
    kind = "PostgreSQL" if TEST_DATABASE_URL else "SQLite"
    if getattr(config.option, "numprocesses", None):
        kind += ", one database per xdist worker"
    return f"minga test database: {kind}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under xdist the slow tests go out first (in their order), so that no worker is left
    running a long one at the end while the others wait."""
    if worker_id() != MASTER:
        items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# xdist's modes that queue tests by node id; `load` (make test's) and `worksteal` go by index
GROUPING_DIST_MODES = frozenset({"loadscope", "loadfile", "loadgroup"})


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: object, ids: list[str]) -> None:
    """Schemathesis' items all have one node id, ``tests/test_schemathesis.py::test_operation``
    (on pytest 9.2 it names them by ``originalname`` only), and xdist's grouping modes keep one
    test per node id: they would run one operation of the hundred and say nothing."""
    config: pytest.Config = node.config  # type: ignore[attr-defined] # xdist's WorkerController
    dist = config.getoption("dist", "no")
    duplicated = sorted(nodeid for nodeid, n in Counter(ids).items() if n > 1)
    if dist in GROUPING_DIST_MODES and duplicated:
        pytest.exit(
            f"--dist {dist} would run one test of each of these node ids: "
            f"{', '.join(duplicated)}; use --dist load (make test does)",
            returncode=pytest.ExitCode.USAGE_ERROR,
        )


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """This worker's migrated database, for the whole session."""
    if not TEST_DATABASE_URL:
        # tmp_path_factory's base folder is already one per xdist worker (…/popen-gw0)
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        migrate.upgrade(url)
        yield url
        return
    url = worker_database_url(TEST_DATABASE_URL)
    own = url != TEST_DATABASE_URL  # an xdist worker's: made here, dropped at the end
    if own:
        create_database(url)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        if own:
            drop_database(url)


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(
        environment=Environment.test,
        database_url=database_url,
        media_dir=str(tmp_path_factory.mktemp("media")),  # not ./media, and one per worker
        first_admin_email=ADMIN_EMAIL,
        first_admin_password=ADMIN_PASSWORD,
        login_max_failures_per_account=5,
        login_max_failures_per_address=12,
        log_level="WARNING",
        scheduler_enabled=False,
        jobs_in_process=False,  # the tests run the jobs when they choose (tests/utils/jobs.py)
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
# The change stamps stay too, and move: emptying the catalogue is a change to it, so no page
# cached from one test is served in the next.
SEEDED_TABLES = frozenset({"categories", "change_stamps"})


async def empty_tables(app: FastAPI) -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables) if t.name not in SEEDED_TABLES]
    async with app.state.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # procrastinate's tables too: a job deferred in one test is not run in the next
            tables += ["procrastinate_jobs", "procrastinate_periodic_defers"]
            await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        else:
            for name in tables:
                await conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - our table names
        await conn.execute(text("UPDATE change_stamps SET version = version + 1"))


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

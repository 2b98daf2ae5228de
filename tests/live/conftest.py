"""The live server of these tests: PostgreSQL, ``minga serve --workers 2``, localstripe.

For the session (of each xdist worker): a database of its own next to the test database,
``<database>_live_<worker>``, migrated with Alembic; localstripe, behind a proxy that can
hold Stripe's answers (``stripe_proxy.py``); and the server (``server.py``), whose lifespan
bootstraps the first admin from its settings as every start does. Every test starts from
empty tables with the admin kept, so the builders of the other tests (``Api``,
``build_network``, ``build_market``, ``Floor``) work unchanged over real HTTP.

Only on PostgreSQL (``MINGA_TEST_DATABASE_URL``): each module is skipped otherwise (see
``needs_postgresql``), before anything is started.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass

import httpx
import pytest
import stripe
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from app.core import migrate, stamps
from app.core.db import metadata
from app.payments.stripe_provider import stripe_client
from tests.live import TEST_DATABASE_URL
from tests.live.server import LiveServer
from tests.live.stripe_proxy import StripeProxy
from tests.payments.conftest import localstripe  # noqa: F401 - a localstripe of our own
from tests.payments.helpers import STRIPE_KEY
from tests.utils import ADMIN_EMAIL, Api
from tests.utils.databases import create_database, drop_database, worker_id

TIMEOUT = httpx.Timeout(60.0)  # a burst of 100 requests on a busy 2-core machine
# Kept when a test starts: the seeded reference data, the change stamps (moved, and the move
# announced, so that no worker serves a page cached in the test before), and the users table
# (the admin stays; every other account is deleted).
KEPT_TABLES = frozenset({"categories", "change_stamps", "users"})


@pytest.fixture(scope="session")
def live_database_url() -> Iterator[str]:
    """A fresh database for the live server, next to the test database, migrated."""
    assert TEST_DATABASE_URL, "the live tests run on PostgreSQL only"
    base = make_url(TEST_DATABASE_URL)
    url = base.set(database=f"{base.database}_live_{worker_id()}").render_as_string(
        hide_password=False
    )
    create_database(url)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        drop_database(url)


@pytest.fixture(scope="session")
def stripe_proxy(localstripe: str) -> Iterator[StripeProxy]:  # noqa: F811 - the imported fixture
    proxy = StripeProxy(localstripe)
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture(scope="session")
def live_server(
    live_database_url: str, stripe_proxy: StripeProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    server = LiveServer(
        database_url=live_database_url,
        stripe_api_base=stripe_proxy.url,
        folder=tmp_path_factory.mktemp("live-server"),
    )
    try:
        server.start()
    except RuntimeError as error:
        pytest.fail(str(error))
    yield server
    server.stop()


@pytest.fixture(scope="session")
async def live_engine(live_database_url: str) -> AsyncIterator[AsyncEngine]:
    """The test's own connection to the server's database: only to empty it between tests."""
    engine = create_async_engine(live_database_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


async def empty_live_tables(engine: AsyncEngine) -> None:
    tables = [t.name for t in metadata.sorted_tables if t.name not in KEPT_TABLES]
    tables += ["procrastinate_jobs", "procrastinate_periodic_defers"]  # no job of another test
    async with engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        await conn.execute(
            text("DELETE FROM users WHERE lower(email) <> :admin"), {"admin": ADMIN_EMAIL}
        )
        moved = await conn.execute(
            text("UPDATE change_stamps SET version = version + 1 RETURNING name, epoch, version")
        )
        for name, epoch, version in moved.all():
            await conn.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": stamps.CHANNEL, "payload": f"{name}:{epoch}:{version}"},
            )


@pytest.fixture(scope="session")
async def sdk(localstripe: str) -> stripe.StripeClient:  # noqa: F811 - the imported fixture
    """The official SDK straight on localstripe (not through the proxy): what the tests
    read back, and the cards they make as Stripe.js would."""
    return stripe_client(STRIPE_KEY, localstripe)


@dataclass
class Live:
    server: LiveServer
    proxy: StripeProxy
    sdk: stripe.StripeClient
    client: httpx.AsyncClient
    api: Api  # the builders' helper on that client (it keeps the admin's login)

    def client_from(self, address: str) -> httpx.AsyncClient:
        """A client whose connections come from another loopback address (the server sees
        that address as the client's)."""
        return httpx.AsyncClient(
            base_url=self.server.url,
            transport=httpx.AsyncHTTPTransport(local_address=address),
            timeout=TIMEOUT,
        )


@pytest.fixture
async def live(
    live_server: LiveServer,
    live_engine: AsyncEngine,
    stripe_proxy: StripeProxy,
    sdk: stripe.StripeClient,
) -> AsyncIterator[Live]:
    if not live_server.running:  # a test that killed it failed before starting it again
        live_server.start()
    await empty_live_tables(live_engine)
    stripe_proxy.reset()
    async with httpx.AsyncClient(base_url=live_server.url, timeout=TIMEOUT) as client:
        yield Live(live_server, stripe_proxy, sdk, client, Api(client))
    stripe_proxy.release_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed live test shows the end of the server's log (every worker's lines)."""
    report = yield
    if report.failed:
        server = getattr(item, "funcargs", {}).get("live_server")
        if isinstance(server, LiveServer):
            report.sections.append((f"minga serve log ({server.log_path})", server.log_tail()))
    return report

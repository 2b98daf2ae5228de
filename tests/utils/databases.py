"""The test databases of a run: one per pytest-xdist worker.

Without xdist (or with ``-n 0``) the suite uses ``MINGA_TEST_DATABASE_URL`` as given. Under
xdist, worker ``gw0`` gets ``<database>_gw0`` on the same server, and so on: each one made
fresh (dropped first, if a killed run left it behind) before it is migrated, and dropped at the
end of the session. They are made through the server's ``postgres`` maintenance database with
asyncpg, the driver the app already uses.
"""

from __future__ import annotations

import asyncio
import os

from sqlalchemy.engine import URL, make_url

MASTER = "master"


def worker_id() -> str:
    """``gw0``, ``gw1``… in an xdist worker; ``master`` in a run without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", MASTER)


def worker_database_url(url: str, worker: str | None = None) -> str:
    """The database of ``worker`` (this process's by default) on the server of ``url``."""
    worker = worker or worker_id()
    if worker == MASTER:
        return url
    parsed = make_url(url)
    return _render(parsed.set(database=f"{parsed.database}_{worker}"))


def create_database(url: str) -> None:
    """Make the database of ``url`` empty and new, whatever was there under that name."""
    name = _quoted(url)
    _execute(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}")


def drop_database(url: str) -> None:
    _execute(url, f"DROP DATABASE IF EXISTS {_quoted(url)} WITH (FORCE)")


def _render(url: URL) -> str:
    return url.render_as_string(hide_password=False)


def _quoted(url: str) -> str:
    name = make_url(url).database
    assert name, f"no database name in {make_url(url)!r}"
    return '"' + name.replace('"', '""') + '"'


def _execute(url: str, *statements: str) -> None:
    """Run ``statements`` one by one (CREATE/DROP DATABASE cannot run in a transaction) on
    the maintenance database of the server of ``url``."""
    import asyncpg

    dsn = _render(make_url(url).set(drivername="postgresql", database="postgres"))

    async def run() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())

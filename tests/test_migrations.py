"""The migrations are the only way the schema is made: they must give exactly the models."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from app.core import migrate
from app.core.migrate import include_name, render_item
from app.models import metadata

PG_URL = os.environ.get("MINGA_TEST_DATABASE_URL")


@pytest.fixture
def scratch_database(tmp_path: Path) -> Iterator[str]:
    """A brand-new empty database of the kind the suite runs on."""
    if not PG_URL:
        yield f"sqlite+aiosqlite:///{tmp_path / 'migrations.db'}"
        return
    name = f"minga_migrations_{uuid.uuid4().hex[:10]}"
    admin = make_url(PG_URL)
    url = admin.set(database=name).render_as_string(hide_password=False)
    yield from _pg_database(PG_URL, name, url)


def _pg_database(admin_url: str, name: str, url: str) -> Iterator[str]:
    import asyncio

    import asyncpg

    dsn = make_url(admin_url).set(drivername="postgresql")
    raw = dsn.render_as_string(hide_password=False)

    async def run(sql: str) -> None:
        conn = await asyncpg.connect(raw)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run(f'CREATE DATABASE "{name}"'))
    try:
        yield url
    finally:
        asyncio.run(run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _diff_and_tables(url: str) -> tuple[list[object], set[str]]:
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    async def inspect_db() -> tuple[list[object], set[str]]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:

                def compare(sync_conn: Connection) -> tuple[list[object], set[str]]:
                    context = MigrationContext.configure(
                        sync_conn,
                        opts={
                            "compare_type": True,
                            "compare_server_default": True,
                            "render_item": render_item,
                            "include_name": include_name,
                        },
                    )
                    diff = compare_metadata(context, metadata)
                    return diff, set(inspect(sync_conn).get_table_names())

                return await conn.run_sync(compare)
        finally:
            await engine.dispose()

    return asyncio.run(inspect_db())


@pytest.mark.slow
def test_upgrade_head_gives_exactly_the_models(scratch_database: str) -> None:
    migrate.upgrade(scratch_database)
    diff, tables = _diff_and_tables(scratch_database)
    assert diff == [], f"models and migrations differ: {diff}"
    assert {t.name for t in metadata.sorted_tables} <= tables


@pytest.mark.slow
def test_downgrade_base_removes_everything(scratch_database: str) -> None:
    migrate.upgrade(scratch_database)
    migrate.downgrade(scratch_database, "base")
    _, tables = _diff_and_tables(scratch_database)
    assert tables <= {"alembic_version"}  # procrastinate's tables too
    migrate.upgrade(scratch_database)  # and back up again, from nothing
    diff, _ = _diff_and_tables(scratch_database)
    assert diff == []


def test_sqlite_pragmas(scratch_database: str) -> None:
    if PG_URL:
        pytest.skip("SQLite pragmas only apply to the embedded database")
    import asyncio

    from app.core.config import Settings
    from app.core.db import create_engine as create_app_engine

    async def pragmas() -> tuple[int, str]:
        engine = create_app_engine(
            Settings(database_url=scratch_database, _env_file=None)  # type: ignore[call-arg]
        )
        try:
            async with engine.connect() as conn:
                fk = (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one()
                mode = (await conn.execute(text("PRAGMA journal_mode"))).scalar_one()
                return int(fk), str(mode)
        finally:
            await engine.dispose()

    assert asyncio.run(pragmas()) == (1, "wal")

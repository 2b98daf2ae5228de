"""Change stamps: a counter per kind of data, moved in the transaction that changes it, that
caches of that data key their entries by (the cached catalogue pages, ``app/storefront``).

Why not the newest audit event (as before): orders and offers are audited too, so every order
moved the catalogue's stamp and turned every worker's cached pages into built ones. A stamp
moves only for the object types listed in ``STAMPED`` (what a catalogue page shows).

How it stays cheap and right:

- ``mark(session, name)`` notes that the transaction changes that data. Just before the
  commit (``before_commit``), the stamp's row is moved (``UPDATE … version = version + 1``):
  the row lock is held only for the commit itself, and versions follow the commits' order
  (two changes racing wait for each other on the row), which a sequence would not give.
- On PostgreSQL the same transaction sends ``pg_notify('minga_stamps', …)``, delivered on
  commit only: every worker's listener (``StampListener``, one asyncpg connection per
  worker) moves its in-memory stamp, so a cached read costs no stamp query. The worker that
  committed moves its own stamp at once (``after_commit``), so a client that changes the
  catalogue and reads it again on the same worker sees its change.
- Without a listening connection (SQLite, a lost connection, before the first LISTEN) the
  stamp is read from its row on each read (``current``): slower, never stale.
- The epoch (random per database, made by the migration) keeps two databases' stamps apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import Session
from sqlmodel import Field, SQLModel

log = logging.getLogger(__name__)

CATALOGUE = "catalogue"
CHANNEL = "minga_stamps"
APPLICATION_NAME = "minga-stamp-listener"  # how its connection shows in pg_stat_activity

# audited object types whose changes a catalogue page can show: SKUs and their tiers, brands
# and their rules, licences, suppliers, product sheets (certifications, photos), imports,
# organisations (names, currency, the public-catalogue choice), network membership
STAMPED: dict[str, str] = {
    "brand": CATALOGUE,
    "brand_license": CATALOGUE,
    "brand_sku": CATALOGUE,
    "sku_supplier": CATALOGUE,
    "product": CATALOGUE,
    "product_import": CATALOGUE,
    "organization": CATALOGUE,
    "network_association": CATALOGUE,
}


class ChangeStamp(SQLModel, table=True):
    __tablename__ = "change_stamps"

    name: str = Field(primary_key=True, max_length=40)
    epoch: str = Field(max_length=36)
    version: int = Field(sa_type=sa.BigInteger())


_table: Any = ChangeStamp.__table__  # type: ignore[attr-defined]
# an upsert, so that a stamp whose row is missing (a new kind of stamp, a table emptied by
# hand) starts again under a new epoch instead of failing every change; PostgreSQL and
# SQLite (3.35+) spell it alike
BUMP = sa.text(
    "INSERT INTO change_stamps (name, epoch, version) VALUES (:stamp, :epoch, 1) "
    "ON CONFLICT (name) DO UPDATE SET version = change_stamps.version + 1 "
    "RETURNING epoch, version"
)
READ = sa.select(_table.c.epoch, _table.c.version).where(_table.c.name == sa.bindparam("stamp"))
NOTIFY = sa.text("SELECT pg_notify(:channel, :payload)")


@dataclass
class Stamps:
    """One engine's (one database's) stamps as this process knows them."""

    known: dict[str, tuple[str, int]] = field(default_factory=dict)
    live: bool = False  # a listener holds LISTEN: ``known`` follows every commit

    def advance(self, name: str, epoch: str, version: int) -> None:
        old = self.known.get(name)
        if old is None or old[0] != epoch or old[1] < version:
            self.known[name] = (epoch, version)


_STAMPS: weakref.WeakKeyDictionary[Engine, Stamps] = weakref.WeakKeyDictionary()


def stamps_of(engine: Engine) -> Stamps:
    found = _STAMPS.get(engine)
    if found is None:
        found = _STAMPS[engine] = Stamps()
    return found


def mark(session: Any, object_type: str) -> None:
    """Note that ``session``'s transaction changes data stamped for ``object_type`` (if any)."""
    name = STAMPED.get(object_type)
    if name is not None:
        session.info.setdefault("stamps", set()).add(name)


async def current(engine: AsyncEngine, conn: AsyncConnection | None, name: str) -> str | None:
    """The stamp as a cache key: from memory while a listener follows the commits, else read
    (through ``conn`` when given); None while its row is missing (then cache nothing)."""
    stamps = stamps_of(engine.sync_engine)
    known = stamps.known.get(name)
    if stamps.live and known is not None:
        return f"{known[0]}:{known[1]}"
    if conn is None:
        async with engine.connect() as own:
            row = (await own.execute(READ, {"stamp": name})).one_or_none()
    else:
        row = (await conn.execute(READ, {"stamp": name})).one_or_none()
    return None if row is None else f"{row.epoch}:{row.version}"


@event.listens_for(Session, "before_commit")
def _bump(session: Session) -> None:
    names: set[str] = session.info.pop("stamps", set())
    if not names:
        return
    bumped = session.info.setdefault("stamps_bumped", [])
    postgres = session.get_bind().dialect.name == "postgresql"
    for name in sorted(names):  # one order, so two transactions never wait on each other
        row = session.execute(BUMP, {"stamp": name, "epoch": uuid.uuid4().hex}).one()
        bumped.append((name, row.epoch, row.version))
        if postgres:
            session.execute(
                NOTIFY, {"channel": CHANNEL, "payload": f"{name}:{row.epoch}:{row.version}"}
            )


@event.listens_for(Session, "after_commit")
def _advance(session: Session) -> None:
    bumped = session.info.pop("stamps_bumped", None)
    if bumped:
        bind = session.get_bind()
        stamps = stamps_of(bind if isinstance(bind, Engine) else bind.engine)
        for name, epoch, version in bumped:
            stamps.advance(name, epoch, version)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop("stamps_bumped", None)
    session.info.pop("stamps", None)


class StampListener:
    """One worker's LISTEN connection (PostgreSQL): moves the in-memory stamps on every
    commit anywhere, and falls back to reading them while it is not connected."""

    def __init__(self, engine: AsyncEngine, *, retry_seconds: float = 1.0) -> None:
        self.engine = engine
        self.stamps = stamps_of(engine.sync_engine)
        self.retry_seconds = retry_seconds
        self._task: asyncio.Task[None] | None = None
        self._lost = asyncio.Event()

    def start(self) -> None:
        if self.engine.dialect.name == "postgresql" and self._task is None:
            self._task = asyncio.create_task(self._run(), name="stamp-listener")

    async def stop(self) -> None:
        self.stamps.live = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        with contextlib.suppress(ValueError):
            name, epoch, version = payload.rsplit(":", 2)
            self.stamps.advance(name, epoch, int(version))

    def _terminated(self, _conn: Any) -> None:
        self.stamps.live = False
        self._lost.set()

    async def _run(self) -> None:
        import asyncpg

        url = self.engine.url.set(drivername="postgresql")
        dsn = url.render_as_string(hide_password=False)
        while True:
            conn = None
            try:
                conn = await asyncpg.connect(
                    dsn, server_settings={"application_name": APPLICATION_NAME}
                )
                self._lost.clear()
                conn.add_termination_listener(self._terminated)
                await conn.add_listener(CHANNEL, self._notified)
                # read after LISTEN holds: no commit falls between the two
                for row in await conn.fetch("SELECT name, epoch, version FROM change_stamps"):
                    self.stamps.advance(row["name"], row["epoch"], row["version"])
                self.stamps.live = True
                await self._lost.wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("stamp listener lost its connection; reading stamps meanwhile")
            finally:
                self.stamps.live = False
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(self.retry_seconds)

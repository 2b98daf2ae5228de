"""The ``minga`` command line on a scratch SQLite file (PostgreSQL runs use their own URL)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.cli import app
from app.core.config import get_settings
from app.core.security import verify_password

runner = CliRunner()


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "cli.db"
    monkeypatch.setenv("MINGA_DATABASE_URL", f"sqlite+aiosqlite:///{db}")
    # the demo sets these for its own process; monkeypatch puts them back afterwards
    monkeypatch.delenv("MINGA_FIRST_ADMIN_EMAIL", raising=False)
    monkeypatch.delenv("MINGA_FIRST_ADMIN_PASSWORD", raising=False)
    get_settings.cache_clear()
    yield db
    get_settings.cache_clear()


def _users(db: Path) -> list[tuple[str, int, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT email, is_platform_admin, password_hash FROM users").fetchall()


@pytest.mark.slow
def test_db_upgrade_and_admin_create(scratch: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        app, ["admin", "create", "--email", "Boss@Minga.ec", "--password", "a-long-password"]
    )
    assert result.exit_code == 0, result.output
    [(email, is_admin, password_hash)] = _users(scratch)
    assert (email, is_admin) == ("boss@minga.ec", 1)
    assert password_hash.startswith("$argon2")
    assert verify_password("a-long-password", password_hash)

    result = runner.invoke(app, ["admin", "create", "--email", "x@minga.ec", "--password", "short"])
    assert result.exit_code != 0


@pytest.mark.slow
def test_demo_migrates_a_fresh_file_and_creates_the_admin(scratch: Path) -> None:
    stale = scratch.parent / "minga-demo.db"
    stale.write_bytes(b"not a database")
    result = runner.invoke(app, ["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert "admin@minga.ec" in result.output
    users = {email: is_admin for email, is_admin, _ in _users(stale)}
    assert users.pop("admin@minga.ec") == 1
    assert users  # the demo's logins, none of them a platform admin
    assert not any(users.values())
    assert "ledger: producer shares on invoices and credit notes = payouts" in result.output

    # the demo's books add up, and a cent out of place is found
    demo_url = f"sqlite+aiosqlite:///{stale}"
    result = runner.invoke(app, ["ledger", "check"], env={"MINGA_DATABASE_URL": demo_url})
    assert result.exit_code == 0, result.output
    assert "no difference" in result.output
    with sqlite3.connect(stale) as conn:
        conn.execute("UPDATE payouts SET amount_cents = amount_cents + 1 WHERE rowid = 1")
    get_settings.cache_clear()
    result = runner.invoke(app, ["ledger", "check"], env={"MINGA_DATABASE_URL": demo_url})
    assert result.exit_code == 1, result.output
    assert "1 ledger difference" in result.output

"""Run Alembic programmatically (the CLI, the demo and the tests use the same migrations)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from alembic import command
from alembic.config import Config
from sqlmodel.sql.sqltypes import AutoString

from app.core.timeutil import UTCDateTime

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def alembic_config(database_url: str | None = None) -> Config:
    """The project's ``alembic.ini``, pointed at ``database_url`` when one is given."""
    for root in (Path(os.environ.get("MINGA_ROOT", Path.cwd())), PROJECT_ROOT):
        ini = root / "alembic.ini"
        if ini.is_file():
            break
    else:
        raise FileNotFoundError("alembic.ini not found; run from the project folder")
    config = Config(str(ini))
    config.attributes["configure_logger"] = False
    if database_url:
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str | None = None, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str | None = None, revision: str = "base") -> None:
    command.downgrade(alembic_config(database_url), revision)


def include_name(name: str | None, type_: str, _parents: Any) -> bool:
    """What autogenerate compares: every table but procrastinate's, which its own schema file
    makes (``migrations/procrastinate_*.sql``, applied by a revision on PostgreSQL)."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    """Render the app's own column types as plain SQLAlchemy ones in migration files."""
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.String()"
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False

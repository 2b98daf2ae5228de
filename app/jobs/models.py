"""The embedded database's job table: on SQLite, where procrastinate cannot run, deferred jobs
wait here and the API process runs them (``app/jobs/local.py``). On PostgreSQL the jobs are
procrastinate's (``procrastinate_jobs``) and this table stays empty."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, String
from sqlmodel import Field, SQLModel

from app.core.timeutil import UTCDateTime, utcnow


class LocalJob(SQLModel, table=True):
    __tablename__ = "local_jobs"
    __table_args__ = (Index("ix_local_jobs_due", "status", "run_at"),)

    id: int | None = Field(default=None, primary_key=True)
    task_name: str = Field(max_length=128)
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="todo", sa_type=String(16))  # todo, doing, succeeded, failed
    attempts: int = 0
    run_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    locked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=2000)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)

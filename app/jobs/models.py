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


class Operation(SQLModel, table=True):
    """Slow work asked for over HTTP and done by a job (a large delivery day's route plan):
    the request answers ``202 Accepted`` with ``Location: /api/v1/operations/{id}``, which
    says how it goes and, once done, where the result is or what went wrong."""

    __tablename__ = "operations"

    id: str = Field(max_length=36, primary_key=True)
    kind: str = Field(max_length=32)  # route_plan
    organization_id: str = Field(max_length=36, index=True)  # whose members may read it
    requested_by_user_id: str | None = Field(default=None, max_length=36)
    state: str = Field(default="queued", sa_type=String(16))  # queued, running, succeeded, failed
    args: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    result_path: str | None = Field(default=None, max_length=300)
    problem: dict[str, Any] | None = Field(
        default=None, sa_column=Column(JSON(none_as_null=True), nullable=True)
    )
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

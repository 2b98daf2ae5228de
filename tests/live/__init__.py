"""Live tests: a real ``minga serve --workers 2`` on PostgreSQL, with localstripe, driven
over HTTP with truly concurrent requests, and killed with SIGKILL where a test says so.

They reproduce the findings of issue 11 (races, crashes, hostile input) against the
deployment's own shape rather than one in-process app. PostgreSQL only: several workers
share one database there; on SQLite the modules are skipped.
"""

from __future__ import annotations

import os

import pytest

TEST_DATABASE_URL = os.environ.get("MINGA_TEST_DATABASE_URL")

needs_postgresql = pytest.mark.skipif(
    not TEST_DATABASE_URL,
    reason="the live server runs 2 workers on one PostgreSQL database "
    "(set MINGA_TEST_DATABASE_URL); SQLite serves one worker",
)

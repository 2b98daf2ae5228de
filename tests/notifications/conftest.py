"""The suite's app, sending its e-mails to a real SMTP server of the tests' own: an app of
these tests (the session's ``app`` may already exist, built with the suite's settings)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app
from tests.utils.smtp import Mailbox, smtp_server


@pytest.fixture(scope="session")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    yield from smtp_server()


@pytest.fixture(scope="session")
def mail_settings(settings: Settings, smtp: tuple[Mailbox, int]) -> Settings:
    """The suite's settings, with this SMTP server (no TLS on loopback)."""
    return settings.model_copy(
        update={"smtp_host": "127.0.0.1", "smtp_port": smtp[1], "smtp_starttls": False}
    )


@pytest.fixture(scope="session")
async def app(mail_settings: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(mail_settings)
    yield application
    await application.state.engine.dispose()


@pytest.fixture
def mailbox(smtp: tuple[Mailbox, int]) -> Iterator[Mailbox]:
    smtp[0].clear()
    yield smtp[0]
    smtp[0].clear()

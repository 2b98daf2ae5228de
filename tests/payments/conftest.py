"""Fixtures of the payments tests: a real Stripe-compatible server (localstripe) and helpers.

localstripe runs as a subprocess on a free loopback port for the whole session; the tests
that need Stripe point the app's settings at it. Nothing of Stripe is mocked: the official
SDK talks HTTP to localstripe exactly as it would to api.stripe.com.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import stripe
from fastapi import FastAPI
from pydantic import SecretStr

from app.accounts.models import Organization
from app.payments.stripe_provider import stripe_client
from tests.payments.helpers import STRIPE_KEY, WEBHOOK_SECRET, Db
from tests.utils import Api


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a localstripe server started for this test session."""
    executable = Path(sys.executable).with_name("localstripe")
    port = _free_port()
    log = (tmp_path_factory.mktemp("localstripe") / "localstripe.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own virtualenv's script
        [str(executable), "--port", str(port), "--from-scratch"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"localstripe exited with {process.returncode}; see {log.name}")
            try:
                answer = httpx.get(f"{base}/v1/payment_intents", auth=(STRIPE_KEY, ""), timeout=1)
                if answer.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("localstripe did not answer within 30 s")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def stripe_settings(app: FastAPI, localstripe: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point the app at localstripe, with the test key and webhook secret."""
    settings = app.state.settings
    monkeypatch.setattr(settings, "stripe_api_key", SecretStr(STRIPE_KEY))
    monkeypatch.setattr(settings, "stripe_api_base", localstripe)
    monkeypatch.setattr(settings, "stripe_webhook_secret", SecretStr(WEBHOOK_SECRET))
    return localstripe


@pytest.fixture
def webhook_secret(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> str:
    """Only the webhook secret: webhook tests that need no Stripe server."""
    monkeypatch.setattr(app.state.settings, "stripe_webhook_secret", SecretStr(WEBHOOK_SECRET))
    return WEBHOOK_SECRET


@pytest.fixture
async def sdk(stripe_settings: str) -> stripe.StripeClient:
    """The official SDK, on localstripe, for reading back what the app did."""
    return stripe_client(STRIPE_KEY, stripe_settings)


@pytest.fixture
def db(app: FastAPI) -> Db:
    return Db(app)


@pytest.fixture
async def buyer(api: Api, db: Db) -> Organization:
    """A restaurant buyer organisation with 45 days of payment terms."""
    body = await api.organization("buyer", payment_terms_days=45)
    async with db.session() as session:
        found = await session.get(Organization, body["id"])
        assert found is not None
        return found

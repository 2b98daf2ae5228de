"""The webhooks' tests run on an app that may deliver to 127.0.0.1 (their receiver), with the
market of tests/orders (a network, an open cycle with offers, a buyer)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app.core.config import Settings
from app.main import create_app
from tests.brands.conftest import Network, net  # noqa: F401 - the fixture market builds on
from tests.orders.conftest import Market, build_market
from tests.webhooks.receiver import Receiver, receiving


@pytest.fixture(scope="session")
async def app(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[FastAPI]:
    application = create_app(
        settings.model_copy(
            update={
                "webhooks_allow_private_urls": True,
                "mail_dir": str(tmp_path_factory.mktemp("mail")),
            }
        )
    )
    yield application
    await application.state.engine.dispose()


@pytest.fixture
def strict(app: FastAPI) -> Iterator[None]:
    """The production rule for this test: only public addresses."""
    relaxed = app.state.settings
    app.state.settings = relaxed.model_copy(update={"webhooks_allow_private_urls": False})
    try:
        yield
    finally:
        app.state.settings = relaxed


@pytest.fixture
async def market(net: Network) -> Market:  # noqa: F811 - the imported fixture
    return await build_market(net)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as r:
        yield r


async def endpoint(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    organization_id: str,
    url: str,
    events: list[str],
) -> dict[str, Any]:
    r = await client.post(
        "/api/v1/webhook-endpoints",
        json={"organization_id": organization_id, "url": url, "events": events},
        headers=headers,
    )
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created

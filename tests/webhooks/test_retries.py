"""The ends of a delivery's life: given up after its last attempt, refused when its URL
stopped being allowed, sent again when the worker that held it died."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import update

from app.core.timeutil import utcnow
from app.jobs.tasks import JobContext
from app.webhooks import delivery, urls
from app.webhooks.models import WebhookDelivery
from tests.orders.conftest import Market
from tests.utils.jobs import drain
from tests.webhooks.conftest import endpoint
from tests.webhooks.receiver import Receiver, receiving
from tests.webhooks.test_delivery import deliveries

_d = WebhookDelivery.__table__  # type: ignore[attr-defined]


async def test_a_delivery_is_failed_after_its_last_attempt_and_replay_starts_again(
    app: FastAPI, market: Market
) -> None:
    with receiving(fail_first=1000) as receiver:
        hook = await endpoint(
            market.client,
            market.net.admin,
            market.net.network["id"],
            receiver.url(),
            ["order.placed"],
        )
        assert (await market.order("1")).status_code == 201
        await drain(app, forward=True, rounds=30)
        assert len(receiver.requests) == delivery.MAX_ATTEMPTS
        [logged] = await deliveries(market, hook["id"])
        assert logged["state"] == "failed"
        assert logged["attempts"] == delivery.MAX_ATTEMPTS
        assert logged["last_status_code"] == 500
        assert logged["next_attempt_at"] is None

        receiver.fail_first = 0  # the integrator fixed it
        r = await market.client.post(
            f"/api/v1/webhook-endpoints/{hook['id']}/deliveries/{logged['id']}/replay",
            headers=market.net.admin,
        )
        assert r.status_code == 202, r.text
        await drain(app)
        [logged] = await deliveries(market, hook["id"])
        assert logged["state"] == "succeeded"
        assert logged["attempts"] == delivery.MAX_ATTEMPTS + 1


async def test_the_url_is_checked_again_before_each_delivery(
    app: FastAPI, market: Market, receiver: Receiver
) -> None:
    hook = await endpoint(
        market.client, market.net.admin, market.net.network["id"], receiver.url(), ["order.placed"]
    )
    assert (await market.order("1")).status_code == 201
    relaxed = app.state.settings
    app.state.settings = relaxed.model_copy(update={"webhooks_allow_private_urls": False})
    try:
        await drain(app)
    finally:
        app.state.settings = relaxed
    assert receiver.requests == []
    [logged] = await deliveries(market, hook["id"])
    assert logged["state"] == "pending"  # retried later: what a name resolves to may change
    assert "not public" in logged["last_error"]
    assert logged["last_status_code"] is None


@pytest.mark.parametrize("held", [True, False])
async def test_the_sweep_sends_what_a_dead_worker_held(
    app: FastAPI, market: Market, receiver: Receiver, held: bool
) -> None:
    hook = await endpoint(
        market.client, market.net.admin, market.net.network["id"], receiver.url(), ["order.placed"]
    )
    assert (await market.order("1")).status_code == 201
    await drain(app)
    [logged] = await deliveries(market, hook["id"])
    # as if a worker had claimed it (or its job was lost) and died: the lease is long over
    long_ago = utcnow() - timedelta(hours=1)
    async with app.state.engine.begin() as conn:
        await conn.execute(
            update(_d)
            .where(_d.c.id == logged["id"])
            .values(
                state="sending" if held else "pending",
                lease_until=long_ago if held else None,
                next_attempt_at=None if held else long_ago,
            )
        )
    await delivery.sweep(JobContext(app.state.sessionmaker, app.state.settings))
    await drain(app)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    [logged] = await deliveries(market, hook["id"])
    assert logged["state"] == "succeeded"
    assert logged["attempts"] == 2


async def test_a_delivery_goes_to_the_address_that_was_checked(
    app: FastAPI, market: Market, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name is resolved once, checked, and connected to by that address (a second lookup
    could answer another one: DNS rebinding); the receiver still sees its name as Host."""
    port = receiver.base_url.rsplit(":", 1)[1]
    looked_up: list[str] = []

    async def resolve(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]  # "hooks.example" does not exist: only this answer reaches it

    monkeypatch.setattr(urls, "resolve", resolve)
    monkeypatch.setattr(urls, "is_public", lambda address: address == "127.0.0.1")
    relaxed = app.state.settings
    app.state.settings = relaxed.model_copy(update={"webhooks_allow_private_urls": False})
    try:
        hook = await endpoint(
            market.client,
            market.net.admin,
            market.net.network["id"],
            f"http://hooks.example:{port}/hook",
            ["order.placed"],
        )
        assert (await market.order("1")).status_code == 201
        await drain(app)
    finally:
        app.state.settings = relaxed
    assert looked_up == ["hooks.example", "hooks.example"]  # at registration, at sending
    [received] = receiver.requests
    assert received.headers["host"] == f"hooks.example:{port}"
    assert received.path == "/hook"
    [logged] = await deliveries(market, hook["id"])
    assert logged["state"] == "succeeded"


def test_https_is_pinned_with_the_name_for_tls() -> None:
    url, headers, extensions = urls.pinned("https://hooks.example/a?b=1", "2001:db8::1")
    assert str(url) == "https://[2001:db8::1]/a?b=1"
    assert headers == {"host": "hooks.example"}
    assert extensions == {"sni_hostname": "hooks.example"}

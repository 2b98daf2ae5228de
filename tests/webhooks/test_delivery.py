"""Events reach the endpoints subscribed to them, signed (Standard Webhooks), retried with
the same webhook-id until the receiver takes them, and only within the event's audience."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from standardwebhooks.webhooks import Webhook

from tests.orders.conftest import Market
from tests.utils import assert_problem
from tests.utils.jobs import drain
from tests.webhooks.conftest import endpoint
from tests.webhooks.receiver import Received, Receiver, receiving


def verified(secret: str, received: Received) -> dict[str, Any]:
    """The body, once the signature is checked as an integrator would."""
    body: dict[str, Any] = Webhook(secret).verify(received.body, received.headers)
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == "Minga-Webhooks/1"
    return body


async def deliveries(market: Market, endpoint_id: str) -> list[dict[str, Any]]:
    r = await market.client.get(
        f"/api/v1/webhook-endpoints/{endpoint_id}/deliveries", headers=market.net.admin
    )
    assert r.status_code == 200, r.text
    items: list[dict[str, Any]] = r.json()["items"]
    return items


async def test_an_order_and_a_closed_cycle_are_delivered_signed(
    app: FastAPI, market: Market, receiver: Receiver
) -> None:
    hook = await endpoint(
        market.client,
        market.net.admin,
        market.net.network["id"],
        receiver.url("/network"),
        ["order.placed", "cycle.closed"],
    )
    r = await market.order("5")
    assert r.status_code == 201, r.text
    order = r.json()
    assert receiver.requests == []  # sent by a job, after the order's commit
    await drain(app)

    [placed] = receiver.at("/network")
    body = verified(hook["secret"], placed)
    assert body["type"] == "order.placed"
    assert body["data"]["order"]["id"] == order["id"]
    assert body["timestamp"]
    [logged] = await deliveries(market, hook["id"])
    assert logged["id"] == placed.headers["webhook-id"]
    assert logged["event_type"] == "order.placed"
    assert logged["state"] == "succeeded"
    assert logged["attempts"] == 1
    assert logged["last_status_code"] == 200
    assert logged["delivered_at"] is not None

    r = await market.client.post(
        f"/api/v1/cycles/{market.cycle['id']}/close", headers=market.net.admin
    )
    assert r.status_code == 200, r.text
    await drain(app)
    closed = [verified(hook["secret"], q) for q in receiver.at("/network")[1:]]
    assert [b["type"] for b in closed] == ["cycle.closed"]
    assert closed[0]["data"]["cycle_id"] == market.cycle["id"]
    log = await deliveries(market, hook["id"])
    assert [d["event_type"] for d in log] == ["cycle.closed", "order.placed"]  # newest first


async def test_a_failing_receiver_gets_it_on_the_third_try_with_one_webhook_id(
    app: FastAPI, market: Market
) -> None:
    with receiving(fail_first=2) as receiver:
        hook = await endpoint(
            market.client,
            market.net.admin,
            market.net.network["id"],
            receiver.url(),
            ["order.placed"],
        )
        assert (await market.order("2")).status_code == 201
        await drain(app)
        assert len(receiver.requests) == 1
        [logged] = await deliveries(market, hook["id"])
        assert logged["state"] == "pending"
        assert logged["attempts"] == 1
        assert logged["last_status_code"] == 500
        assert logged["last_error"] == "the endpoint answered 500"
        assert logged["next_attempt_at"] is not None

        await drain(app, forward=True)  # the retries' backoff, skipped
        assert len(receiver.requests) == 3
        assert len({q.headers["webhook-id"] for q in receiver.requests}) == 1
        bodies = {q.body for q in receiver.requests}
        assert len(bodies) == 1  # the same bytes every time
        verified(hook["secret"], receiver.requests[-1])
        [logged] = await deliveries(market, hook["id"])
        assert logged["state"] == "succeeded"
        assert logged["attempts"] == 3
        assert logged["last_status_code"] == 200
        assert logged["last_error"] is None


async def test_only_subscribed_active_endpoints_of_the_audience_get_it(
    app: FastAPI, market: Market, receiver: Receiver
) -> None:
    api = market.api
    buyer_admin_user, buyer_admin = await api.member(market.buyer["id"], role="admin")
    buyer_hook = await endpoint(
        market.client, buyer_admin, market.buyer["id"], receiver.url("/buyer"), ["order.placed"]
    )
    # another buyer: not in the order's audience
    other = await api.organization("buyer")
    _, other_admin = await api.member(other["id"], role="admin")
    await endpoint(
        market.client, other_admin, other["id"], receiver.url("/other"), ["order.placed"]
    )
    # the network, subscribed to another type only
    await endpoint(
        market.client,
        market.net.admin,
        market.net.network["id"],
        receiver.url("/network"),
        ["cycle.closed"],
    )
    # the network, subscribed, but deleted
    gone = await endpoint(
        market.client,
        market.net.admin,
        market.net.network["id"],
        receiver.url("/gone"),
        ["order.placed"],
    )
    r = await market.client.delete(
        f"/api/v1/webhook-endpoints/{gone['id']}", headers=market.net.admin
    )
    assert r.status_code == 204

    assert (await market.order("3")).status_code == 201
    await drain(app)
    assert [q.path for q in receiver.requests] == ["/buyer"]
    assert verified(buyer_hook["secret"], receiver.requests[0])["type"] == "order.placed"
    assert buyer_admin_user["email"]


async def test_a_delivery_is_replayed_with_its_webhook_id(
    app: FastAPI, market: Market, receiver: Receiver
) -> None:
    hook = await endpoint(
        market.client, market.net.admin, market.net.network["id"], receiver.url(), ["order.placed"]
    )
    assert (await market.order("1")).status_code == 201
    await drain(app)
    [logged] = await deliveries(market, hook["id"])
    assert logged["state"] == "succeeded"

    path = f"/api/v1/webhook-endpoints/{hook['id']}/deliveries/{logged['id']}/replay"
    r = await market.client.post(path, headers=market.net.admin)
    assert r.status_code == 202, r.text
    assert r.json() == {"id": logged["id"], "state": "pending"}
    await drain(app)
    first, second = receiver.requests
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == logged["id"]
    assert json.loads(second.body) == json.loads(first.body)
    verified(hook["secret"], second)
    [logged] = await deliveries(market, hook["id"])
    assert logged["state"] == "succeeded"
    assert logged["attempts"] == 2

    # someone else's delivery, or one that does not exist: 404
    r = await market.client.post(
        f"/api/v1/webhook-endpoints/{hook['id']}/deliveries/nope/replay",
        headers=market.net.admin,
    )
    assert_problem(r, 404, "webhook_delivery_not_found")
    r = await market.client.post(path, headers=market.buyer_staff)
    assert_problem(r, 404, "webhook_endpoint_not_found")

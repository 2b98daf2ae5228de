"""Operations: metrics, body caps, request ids in logs."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from app.core.logging import JsonFormatter, RequestIdFilter
from tests.utils import Api, assert_problem


async def test_metrics_count_requests_by_route(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    await client.get("/api/v1/organizations/some-id")
    r = await client.get("/metrics")
    assert r.status_code == 200
    text = r.text
    assert 'minga_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    # by route template, never by raw path
    assert 'route="/api/v1/organizations/{organization_id}"' in text
    assert "some-id" not in text
    assert "minga_orders_placed_total" in text


async def test_oversized_bodies_are_413_problems(api: Api) -> None:
    huge = {"name": "x" * (2 * 1024 * 1024)}
    r = await api.client.post("/api/v1/organizations", json=huge, headers=await api.admin())
    assert_problem(r, 413, "payload_too_large")

    async def chunks():  # type: ignore[no-untyped-def]
        for _ in range(40):
            yield b"x" * 65536

    r = await api.client.post(
        "/api/v1/organizations",
        content=chunks(),
        headers={**(await api.admin()), "Content-Type": "application/json"},
    )
    assert_problem(r, 413, "payload_too_large")


def test_log_lines_are_json_with_the_request_id(caplog: pytest.LogCaptureFixture) -> None:
    from app.core.logging import request_id_var

    token = request_id_var.set("req-42")
    try:
        record = logging.LogRecord(
            "app.test", logging.INFO, __file__, 1, "hola %s", ("mundo",), None
        )
        RequestIdFilter().filter(record)
        line = json.loads(JsonFormatter().format(record))
    finally:
        request_id_var.reset(token)
    assert line["message"] == "hola mundo"
    assert line["request_id"] == "req-42"
    assert line["level"] == "INFO"

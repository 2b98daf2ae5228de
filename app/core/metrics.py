"""Prometheus metrics at ``/metrics``: request rates and latencies by route, and the
business events operators watch (orders placed, cycles closed, background job failures)."""

from __future__ import annotations

import time

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUESTS = Counter(
    "minga_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "minga_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
ORDERS_PLACED = Counter("minga_orders_placed_total", "Orders placed")
CYCLES_CLOSED = Counter("minga_cycles_closed_total", "Order cycles closed and aggregated")
JOB_FAILURES = Counter("minga_job_failures_total", "Background jobs that failed", ["job"])


class MetricsMiddleware:
    """Count and time every request under its route template (never the raw path, whose
    ids would make one series per object)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            template = _template(scope)
            method = scope.get("method", "")
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(time.perf_counter() - started)


def _template(scope: Scope) -> str:
    """The route's template: the path with each path parameter's value put back as its name."""
    if scope.get("route") is None:
        return "unmatched"
    segments = scope["path"].split("/")
    names = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    return "/".join("{" + names[seg] + "}" if seg in names else seg for seg in segments)


async def metrics_endpoint(_: Request) -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

"""A small fake OSRM server on loopback: a real HTTP server answering the table service.

Durations and distances come from its own great-circle formula (road factor 1.4, 40 km/h,
with fractions, as OSRM answers them), so tests can predict every figure. ``mode`` makes it
fail the ways a real server does.

    with FakeOsrm() as osrm:
        matrix = await osrm_matrix(points, base_url=osrm.base_url)
"""

from __future__ import annotations

import json
import math
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

ROAD_FACTOR = 1.4
SPEED_KMH = 40.0
RADIUS_M = 6_371_008.8

Mode = Literal["ok", "http_500", "invalid_query", "no_table", "nulls", "not_json", "slow"]


def road_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Fake road metres between two (lon, lat) pairs."""
    (lon1, lat1), (lon2, lat2) = a, b
    p1, p2 = math.radians(lat1), math.radians(lat2)
    h = (
        math.sin((p2 - p1) / 2) ** 2
        + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2
    )
    return 2 * RADIUS_M * math.asin(math.sqrt(h)) * ROAD_FACTOR


def road_s(metres: float) -> float:
    return metres / (SPEED_KMH * 1000 / 3600)


@dataclass
class FakeOsrm:
    mode: Mode = "ok"
    slow_seconds: float = 1.0
    requests: list[str] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "start the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeOsrm:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake.requests.append(self.path)
                status, body = fake.answer(self.path)
                payload = body if isinstance(body, bytes) else json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up first (the timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep the test output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None
        assert self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def answer(self, path: str) -> tuple[int, Any]:
        url = urlsplit(path)
        prefix = "/table/v1/driving/"
        if not url.path.startswith(prefix):
            return 400, {"code": "InvalidUrl", "message": "URL string malformed"}
        try:
            coords = [
                (float(lon), float(lat))
                for lon, lat in (c.split(",") for c in unquote(url.path[len(prefix) :]).split(";"))
            ]
        except ValueError:
            return 400, {"code": "InvalidQuery", "message": "Query string malformed"}
        annotations = parse_qs(url.query).get("annotations", ["duration"])[0].split(",")
        if self.mode == "http_500":
            return 500, b"internal error"
        if self.mode == "invalid_query":
            return 400, {"code": "InvalidQuery", "message": "Query string malformed"}
        if self.mode == "no_table":
            return 200, {"code": "NoTable", "message": "No table found"}
        if self.mode == "not_json":
            return 200, b"<html>gateway</html>"
        if self.mode == "slow":
            time.sleep(self.slow_seconds)
        metres = [[road_m(a, b) for b in coords] for a in coords]
        body: dict[str, Any] = {
            "code": "Ok",
            "sources": [{"location": list(c)} for c in coords],
            "destinations": [{"location": list(c)} for c in coords],
        }
        if "duration" in annotations:
            body["durations"] = [[round(road_s(m), 1) for m in row] for row in metres]
        if "distance" in annotations:
            body["distances"] = [[round(m, 1) for m in row] for row in metres]
        if self.mode == "nulls":
            body["durations"][0][-1] = None
        return 200, body

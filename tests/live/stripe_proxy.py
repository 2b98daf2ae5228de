"""A small HTTP proxy between the live server and localstripe.

It forwards every call, records each one with localstripe's answer, and can hold the
answers of chosen calls: the call has reached "Stripe" and done its work there, but the
server does not hear back until the test says so. That is the moment a crash is worst (the
money moved, Minga does not know), and the test can kill the server right in it.

A plain ``http.server`` in a thread of the test process: nothing to install, and the held
calls wait on ``threading.Event`` without blocking the tests' event loop.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade"}
)
HOLD_AT_MOST = 120.0  # seconds a held answer waits for release before it goes out anyway

CAPTURE = r"/v1/payment_intents/[^/]+/capture"
CREATE_INTENT = r"/v1/payment_intents"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    status: int
    held: bool


@dataclass
class Hold:
    """Hold the answers of the calls matching ``method`` and ``path`` (a whole-path regex),
    from the ``nth`` such call on (1-based), until ``release``."""

    method: str
    path: str
    nth: int
    seen: int = 0
    held_paths: list[str] = field(default_factory=list)
    reached: threading.Event = field(default_factory=threading.Event)
    released: threading.Event = field(default_factory=threading.Event)

    def matches(self, method: str, path: str) -> bool:
        return method == self.method and re.fullmatch(self.path, path) is not None

    async def wait_reached(self, seconds: float = 30) -> bool:
        """True once a call is held (the test then knows where the server is)."""
        return await asyncio.to_thread(self.reached.wait, seconds)

    def release(self) -> None:
        self.released.set()


class StripeProxy:
    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        assert parts.hostname, upstream
        assert parts.port, upstream
        self.upstream = (parts.hostname, parts.port)
        self.calls: list[Call] = []
        self.holds: list[Hold] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self.release_all()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)

    def hold(self, method: str, path: str, *, nth: int = 1) -> Hold:
        hold = Hold(method, path, nth)
        with self._lock:
            self.holds.append(hold)
        return hold

    def reset(self) -> None:
        """No hold, no call recorded: as a test starts."""
        self.release_all()
        with self._lock:
            self.calls.clear()

    def release_all(self) -> None:
        with self._lock:
            holds, self.holds = self.holds, []
        for hold in holds:
            hold.release()

    def answered(self, method: str, path: str, status: int = 200) -> list[Call]:
        """The calls to ``path`` (a whole-path regex) that localstripe answered so."""
        with self._lock:
            calls = list(self.calls)
        return [
            c
            for c in calls
            if c.method == method and re.fullmatch(path, c.path) and c.status == status
        ]

    def _hold_for(self, method: str, path: str) -> Hold | None:
        with self._lock:
            for hold in self.holds:
                if hold.matches(method, path):
                    hold.seen += 1
                    if hold.seen >= hold.nth:
                        hold.held_paths.append(path)
                        return hold
        return None

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as the Stripe SDK's httpx pool wants

            def do_GET(self) -> None:
                self._forward()

            def do_POST(self) -> None:
                self._forward()

            def do_DELETE(self) -> None:
                self._forward()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the calls are recorded instead

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                upstream = http.client.HTTPConnection(*proxy.upstream, timeout=30)
                try:
                    upstream.request(self.command, self.path, body=body, headers=headers)
                    answer = upstream.getresponse()
                    content = answer.read()
                    answer_headers = answer.getheaders()
                    status = answer.status
                finally:
                    upstream.close()
                path = urlsplit(self.path).path
                hold = proxy._hold_for(self.command, path)
                proxy._record(Call(self.command, path, status, held=hold is not None))
                if hold is not None:
                    hold.reached.set()
                    hold.released.wait(HOLD_AT_MOST)
                try:
                    self.send_response(status)
                    for name, value in answer_headers:
                        if name.lower() not in HOP_BY_HOP:
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(content)))
                    self.end_headers()
                    self.wfile.write(content)
                except OSError:  # the server that asked was killed meanwhile
                    self.close_connection = True

        return Handler

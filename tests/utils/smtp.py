"""A real SMTP server for the tests (aiosmtpd, on 127.0.0.1 in a thread of its own), which
keeps every message it accepted. ``hold`` makes it wait before answering a message's DATA,
so a test can kill the sender in the middle; a message whose sender left before the answer
is dropped, as a real server's transaction is when the connection goes."""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.hold_seconds = 0.0  # wait this long before answering each message
        self.hold_after = 0  # …once this many messages were accepted
        self.refuse = 0  # answer the next n messages with 451 (a temporary failure)
        self.held = threading.Event()  # set while a message waits for its answer

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse > 0:
            self.refuse -= 1
            return "451 4.3.0 try again later"
        if self.hold_seconds and len(self.messages) >= self.hold_after:
            self.held.set()
            await asyncio.sleep(self.hold_seconds)
            transport: Any = server.transport
            if transport is None or transport.is_closing():
                return "421 the client left"  # never answered: not delivered
        data = envelope.content if isinstance(envelope.content, bytes) else b""
        message = email.message_from_bytes(data, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"

    def clear(self) -> None:
        with self.lock:
            self.messages.clear()
        self.hold_seconds = 0.0
        self.hold_after = 0
        self.refuse = 0
        self.held.clear()

    def to(self, address: str, kind: str | None = None) -> list[EmailMessage]:
        """The messages to ``address`` (of one kind: its ``X-Minga-Kind``)."""
        return [
            m
            for m in self.messages
            if m["To"] == address and (kind is None or m["X-Minga-Kind"] == kind)
        ]

    def wait_for(self, count: int, timeout: float = 30.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return list(self.messages)
            time.sleep(0.05)
        return list(self.messages)


def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    content: str = part.get_content()
    return content


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    content: str = part.get_content()
    return content

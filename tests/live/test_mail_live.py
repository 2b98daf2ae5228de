"""E-mail on the deployment's own shape: ``minga serve --workers 2`` takes the orders,
``minga worker`` (procrastinate) sends the messages to a real SMTP server, and is killed
with SIGKILL while the server holds messages it has not answered yet. After a restart every
message arrives exactly once: the ones the server had accepted are not sent again, the ones
it never answered are."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.brands.conftest import build_network
from tests.live import needs_postgresql
from tests.live.conftest import Live
from tests.live.server import MINGA, LiveServer
from tests.orders.conftest import build_market
from tests.utils.smtp import Mailbox, smtp_server

pytestmark = [pytest.mark.slow, pytest.mark.postgres, needs_postgresql]

PEOPLE = 8  # the buyer's people: one order tells each of them


@pytest.fixture(scope="module")
def smtp() -> Iterator[tuple[Mailbox, int]]:
    yield from smtp_server()


class Worker:
    """``minga worker`` with the live server's settings and this SMTP server; short leases
    and sweeps so that a dead worker's messages go out again within seconds."""

    def __init__(self, server: LiveServer, smtp_port: int, folder: Path) -> None:
        self.env = server.environment() | {
            "MINGA_SMTP_HOST": "127.0.0.1",
            "MINGA_SMTP_PORT": str(smtp_port),
            "MINGA_SMTP_STARTTLS": "false",
            "MINGA_NOTIFICATION_LEASE_SECONDS": "4",
            "MINGA_JOBS_HEARTBEAT_SECONDS": "1",
            "MINGA_JOBS_STALLED_AFTER_SECONDS": "3",
            "MINGA_JOBS_SWEEP_SECONDS": "2",
        }
        self.folder = folder
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "worker.log"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own virtualenv's script
                [str(MINGA), "worker", "--concurrency", "4"],
                cwd=self.folder,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


async def test_a_worker_killed_mid_send_sends_each_message_once(
    live: Live, smtp: tuple[Mailbox, int], tmp_path: Path
) -> None:
    mailbox, port = smtp
    mailbox.clear()
    m = await build_market(await build_network(live.api))
    people = [
        await m.api.member(m.buyer["id"], role="staff", email=f"cocina{n}@quilotoa.ec")
        for n in range(PEOPLE)
    ]
    assert (await m.order("5")).status_code == 201
    assert (await m.order("3")).status_code == 201
    expected = {(member["email"], "order_placed") for member, _ in people}
    # the market's own buyer staff too: 2 orders x (PEOPLE + 1) messages
    total = 2 * (PEOPLE + 1)

    # the SMTP server answers the first 5 messages, then holds every message it gets
    mailbox.hold_after = 5
    mailbox.hold_seconds = 6
    worker = Worker(live.server, port, tmp_path)
    worker.start()
    try:
        assert await asyncio.to_thread(mailbox.held.wait, 60), worker.log.read_text()
        worker.kill()  # kill -9 while messages wait for the server's answer
        accepted = len(mailbox.messages)
        assert accepted == 5
        await asyncio.sleep(mailbox.hold_seconds + 0.5)  # the held ones are dropped
        assert len(mailbox.messages) == accepted
        mailbox.hold_seconds = 0
        worker.start()
        await asyncio.to_thread(mailbox.wait_for, total, 90)
        await asyncio.sleep(3)  # and nothing more comes
    finally:
        worker.stop()
    told = Counter((message["To"], message["X-Minga-Kind"]) for message in mailbox.messages)
    assert len(mailbox.messages) == total, (told, worker.log.read_text()[-3000:])
    assert set(told.values()) == {2}  # each person, each of the two orders, once
    assert expected <= set(told)
    ids = Counter(message["Message-ID"] for message in mailbox.messages)
    assert set(ids.values()) == {1}

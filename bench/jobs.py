"""Several hosts' shape on one machine: ``minga serve --workers 2`` takes orders while one
``minga worker`` (procrastinate) tells the buyers by e-mail, through a real SMTP server.

1. drops and recreates a PostgreSQL database and migrates it;
2. starts the API (2 uvicorn workers), an SMTP server in this process (aiosmtpd) and one
   ``minga worker --concurrency 8``;
3. builds a market through the API (one association, the SKUs, ``--buyers`` buyers each with
   one staff login, an open cycle);
4. ``--clients`` buyers place ``--orders`` invoice orders of 2 lines as fast as the API answers;
5. waits until every order's e-mail has arrived, and reports: orders per second answered by
   the API, e-mails per second sent by the worker, the delay from an order's answer to its
   e-mail (p50, p95, max), the CPU seconds of the API workers, the job worker and PostgreSQL
   per order, and that every order was told exactly once.

Run from the project folder::

    /work/main/.venv/bin/python -m bench.jobs --orders 600 --doc docs/architecture.md

All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import email
import email.policy
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from app.core import migrate
from bench.orders import (
    MINGA,
    PROJECT,
    Builder,
    backends,
    create_admin,
    drop_database,
    expect,
    free_port,
    machine_jiffies,
    process_jiffies,
    process_tree,
    recreate_database,
    server_env,
    start_server,
    wait_ready,
)
from bench.orders import TICK as CLK_TCK

ORDER_ID = re.compile(r"(?:Pedido|Order): ([0-9a-f-]{36})")
MARK_BEGIN, MARK_END = "<!-- bench-jobs:begin -->", "<!-- bench-jobs:end -->"


class Inbox:
    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}  # order id -> when its e-mail arrived
        self.count = Counter[str]()
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        data = envelope.content if isinstance(envelope.content, bytes) else b""
        message = email.message_from_bytes(data, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""  # type: ignore[union-attr]
        found = ORDER_ID.search(text)
        if found and message["X-Minga-Kind"] == "order_placed":
            with self.lock:
                self.count[found.group(1)] += 1
                self.arrived.setdefault(found.group(1), time.monotonic())
        return "250 OK"


async def backends_jiffies(pg: str, database: str) -> int:
    """CPU of the database's PostgreSQL backends so far (those alive now)."""
    return sum(process_jiffies(pid) for pid in await backends(pg, database))


def tree_jiffies(root: int) -> int:
    return sum(process_jiffies(pid) for pid in process_tree(root))


async def run(args: argparse.Namespace) -> dict[str, Any]:
    base = args.pg.split("://", 1)[1].rstrip("/")
    database_url = f"postgresql+asyncpg://{base}/{args.database}"
    await recreate_database(args.pg, args.database)
    await asyncio.to_thread(migrate.upgrade, database_url)
    create_admin(database_url)
    logs = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    inbox = Inbox()
    smtp_port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    api = start_server(database_url, 2, logs / "api.log")
    worker_env = server_env(database_url) | {
        "MINGA_SMTP_HOST": "127.0.0.1",
        "MINGA_SMTP_PORT": str(smtp_port),
        "MINGA_SMTP_STARTTLS": "false",
        "MINGA_LOG_LEVEL": "WARNING",
    }
    with (logs / "worker.log").open("wb") as log:
        worker = subprocess.Popen(  # noqa: S603, ASYNC220 - our own CLI, before any load
            [*MINGA, "worker", "--concurrency", str(args.concurrency)],
            cwd=PROJECT,
            env=worker_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        await wait_ready(api)
        async with httpx.AsyncClient(base_url=api.base_url, timeout=60) as client:
            import random

            rng = random.Random(7)  # noqa: S311 - test data
            market = await Builder(client, rng).build(
                associations=1, skus=20, buyers=args.buyers, offer_per_association=Decimal(10**6)
            )
            await asyncio.sleep(2)  # the market's own messages (none for these buyers) settle
            answered: dict[str, float] = {}
            queue: asyncio.Queue[int] = asyncio.Queue()
            for n in range(args.orders):
                queue.put_nowait(n)

            async def buyer(index: int) -> None:
                buyer_id, login = market.buyers[index % len(market.buyers)]
                while True:
                    try:
                        n = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    skus = rng.sample(market.sku_ids, 2)
                    r = await client.post(
                        "/api/v1/orders",
                        json={
                            "buyer_id": buyer_id,
                            "cycle_id": market.cycle_id,
                            "lines": [{"sku_id": s, "quantity": "2"} for s in skus],
                            "payment_method": "invoice",
                        },
                        headers=login | {"Idempotency-Key": f"bench-{n}"},
                    )
                    answered[expect(r, 201)["id"]] = time.monotonic()

            cpu0 = (
                tree_jiffies(api.process.pid),
                tree_jiffies(worker.pid),
                await backends_jiffies(args.pg, args.database),
                machine_jiffies(),
            )
            start = time.monotonic()
            await asyncio.gather(*(buyer(i) for i in range(args.clients)))
            placed_in = time.monotonic() - start
            deadline = time.monotonic() + 300
            while len(inbox.arrived) < len(answered) and time.monotonic() < deadline:  # noqa: ASYNC110 - the SMTP server's thread fills it
                await asyncio.sleep(0.1)
            told_in = max(inbox.arrived.values()) - start if inbox.arrived else float("nan")
            await asyncio.sleep(2)  # nothing more comes
            cpu1 = (
                tree_jiffies(api.process.pid),
                tree_jiffies(worker.pid),
                await backends_jiffies(args.pg, args.database),
                machine_jiffies(),
            )
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        api.stop()
        controller.stop()
    missing = set(answered) - set(inbox.arrived)
    twice = {k for k, v in inbox.count.items() if v != 1}
    if missing or twice:
        raise RuntimeError(f"{len(missing)} orders not told, {len(twice)} told more than once")
    delays = sorted(inbox.arrived[o] - answered[o] for o in answered)
    n = len(answered)
    busy = (cpu1[3][0] - cpu0[3][0]) / max(1, cpu1[3][1] - cpu0[3][1])
    result = {
        "orders": n,
        "clients": args.clients,
        "concurrency": args.concurrency,
        "orders_per_s": n / placed_in,
        "emails_per_s": n / told_in,
        "delay_p50_ms": 1000 * statistics.median(delays),
        "delay_p95_ms": 1000 * delays[int(0.95 * (n - 1))],
        "delay_max_ms": 1000 * delays[-1],
        "api_cpu_ms": 1000 * (cpu1[0] - cpu0[0]) / CLK_TCK / n,
        "worker_cpu_ms": 1000 * (cpu1[1] - cpu0[1]) / CLK_TCK / n,
        "pg_cpu_ms": 1000 * (cpu1[2] - cpu0[2]) / CLK_TCK / n,
        "machine_busy": busy,
    }
    await drop_database(args.pg, args.database)
    return result


def render(r: dict[str, Any]) -> str:
    return "\n".join(
        [
            MARK_BEGIN,
            f"Measured {time.strftime('%Y-%m-%d')} by `python -m bench.jobs --orders {r['orders']}`"
            f" on this 2-core machine (PostgreSQL 15, everything on 127.0.0.1; the machine was "
            f"{100 * r['machine_busy']:.0f} % busy over the run):",
            "",
            "| | |",
            "| --- | ---: |",
            f"| orders placed (2 lines, invoice, Idempotency-Key), {r['clients']} clients "
            f"| {r['orders']} |",
            f"| orders answered per second by 2 API workers | {r['orders_per_s']:.0f} |",
            f"| e-mails sent per second by 1 job worker (concurrency {r['concurrency']}) "
            f"| {r['emails_per_s']:.0f} |",
            f"| delay from the order's answer to its e-mail, p50 / p95 / max "
            f"| {r['delay_p50_ms']:.0f} / {r['delay_p95_ms']:.0f} / {r['delay_max_ms']:.0f} ms |",
            f"| CPU per order: API workers / job worker / PostgreSQL "
            f"| {r['api_cpu_ms']:.1f} / {r['worker_cpu_ms']:.1f} / {r['pg_cpu_ms']:.1f} ms |",
            "| orders told exactly once | all |",
            MARK_END,
        ]
    )


def write_doc(path: Path, block: str) -> None:
    text = path.read_text()
    start, end = text.index(MARK_BEGIN), text.index(MARK_END) + len(MARK_END)
    path.write_text(text[:start] + block + text[end:])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--buyers", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="minga_bench_jobs")
    parser.add_argument("--doc", type=Path)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args))
    block = render(result)
    print(block)
    if args.doc:
        write_doc(args.doc, block)
    return 0


if __name__ == "__main__":
    sys.exit(main())

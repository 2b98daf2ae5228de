"""Orders per second placed on PostgreSQL by concurrent buyers, through a real server.

For each SKU count and uvicorn worker count asked for (one series each), the benchmark:

1. drops and recreates a PostgreSQL database and migrates it;
2. starts ``minga serve`` on a free loopback port with that many uvicorn workers;
3. builds a market through the HTTP API: a network with a brand, licensed associations that
   supply every brand SKU, a collection centre, one buyer (with a staff login) per client,
   and an open cycle whose offers cannot run out during the run;
4. lets every client place invoice orders of 1-3 small lines as fast as it can (each with
   its own ``Idempotency-Key``): a warm-up, then a measured window;
5. meanwhile splits the CPU time between the server, its PostgreSQL sessions, this load
   generator and other programs (Linux /proc), and samples how many sessions wait on locks;
6. checks that the cycle's ``reserved`` quantities equal the sum of the accepted orders and
   that the network sees exactly as many orders as were answered 201;
7. stops the server and drops the database.

Exits 1 on a 5xx, an error in the server's log or an inconsistency. Run from the project
folder (``--doc`` rewrites the results block of a markdown file)::

    .venv/bin/python -m bench.orders --duration 20 --clients 20 --workers 2 1 --skus 4 40 \
        --doc docs/bench-orders.md

All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from stdnum.ec import ci

from app.core import migrate

PROJECT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
ADMIN_EMAIL = "bench-admin@minga.ec"
ADMIN_PASSWORD = "throwaway-bench-secret-1"  # noqa: S105 - a throwaway local database
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway local database
SECRET_KEY = "bench-orders-secret-key-0123456789-abcdefghijklmnop"  # noqa: S105
DOC_BEGIN = "<!-- bench-orders:begin -->"
DOC_END = "<!-- bench-orders:end -->"

SKU_NAMES = [
    "Queso fresco 500 g",
    "Yogur de mora 1 l",
    "Manjar de leche 250 g",
    "Quesillo 400 g",
    "Mantequilla 200 g",
    "Queso maduro 300 g",
]
BRAND = {
    "name": "Sabores de Cotopaxi",
    "slug": "sabores-de-cotopaxi",
    "story": "Lo mejor de las asociaciones de Cotopaxi.",
    "territory": {"provinces": ["Cotopaxi"], "cantons": []},
    "rules": {
        "required_certifications": ["agroecological"],
        "allowed_categories": ["dairy"],
        "sanitary_registration_required_for": ["dairy"],
    },
}


# --- the database and the server -----------------------------------------------------------


def admin_dsn(base: str) -> str:
    return f"{base.rstrip('/')}/postgres"


async def recreate_database(base: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn(base))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def drop_database(base: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn(base))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def server_version(base: str) -> str:
    conn = await asyncpg.connect(admin_dsn(base))
    try:
        return str(await conn.fetchval("SELECT version()"))
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base_url: str
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def server_env(database_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "MINGA_DATABASE_URL": database_url,
        "MINGA_SECRET_KEY": SECRET_KEY,
        "MINGA_FIRST_ADMIN_EMAIL": ADMIN_EMAIL,
        "MINGA_FIRST_ADMIN_PASSWORD": ADMIN_PASSWORD,
        "MINGA_SCHEDULER_ENABLED": "false",
        "MINGA_LOG_LEVEL": "WARNING",
        "MINGA_ARGON2_TIME_COST": "1",
        "MINGA_ARGON2_MEMORY_KIB": "1024",
        "MINGA_ARGON2_PARALLELISM": "1",
    }


MINGA = PROJECT / ".venv" / "bin" / "minga"


def create_admin(database_url: str) -> None:
    """The first admin, made before the server starts: workers that start together each try
    to create it from the settings, and the loser of that race stops the whole server."""
    command = [str(MINGA), "admin", "create", "--email", ADMIN_EMAIL]
    command += ["--password", ADMIN_PASSWORD]
    subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        command, cwd=PROJECT, env=server_env(database_url), check=True, capture_output=True
    )


def start_server(database_url: str, workers: int, log_path: Path) -> Server:
    port = free_port()
    command = [str(MINGA), "serve", "--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers)]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            command, cwd=PROJECT, env=server_env(database_url), stdout=log, stderr=subprocess.STDOUT
        )
    return Server(process, f"http://{HOST}:{port}", log_path)


async def wait_ready(server: Server, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"the server exited early:\n{server.log()}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get("/readyz")).status_code == 200:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the server was not ready within {within} s:\n{server.log()}")


# --- the market, built through the API ------------------------------------------------------


def ecuador_ruc(rng: random.Random) -> str:
    """A valid RUC of a natural person: a valid cédula followed by 001."""
    while True:
        body = f"{rng.randint(1, 24):02d}{rng.randint(0, 5)}{rng.randint(0, 999999):06d}"
        for check in range(10):
            if ci.is_valid(body + str(check)):
                return f"{body}{check}001"


def sheet(association_id: str, name: str) -> dict[str, Any]:
    return {
        "association_id": association_id,
        "name": name,
        "category": "dairy",
        "description": "Lácteos de leche de vaca de páramo, elaborados a mano.",
        "story": "Veinte familias de la asociación ordeñan cada mañana.",
        "unit": "unit",
        "pack_size": "1",
        "variable_weight": False,
        "shelf_life_days": 15,
        "storage": "chilled",
        "allergens": ["leche"],
        "certifications": [{"kind": "agroecological", "number": "PGS-17", "expires_on": None}],
        "sanitary_registration": {
            "authority": "ARCSA",
            "number": "12345-ALN-0323",
            "expires_on": "2030-03-31",
        },
        "origin": {
            "parish": "Mulaló",
            "canton": "Latacunga",
            "province": "Cotopaxi",
            "latitude": -0.7,
            "longitude": -78.57,
        },
    }


def expect(response: httpx.Response, status: int) -> dict[str, Any]:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url.path} answered "
            f"{response.status_code}, expected {status}: {response.text}"
        )
    result: dict[str, Any] = response.json()
    return result


@dataclass
class Market:
    network_id: str
    admin: dict[str, str]
    cycle_id: str
    sku_ids: list[str]
    buyers: list[tuple[str, dict[str, str]]]  # (buyer id, staff login headers)
    offered: dict[str, Decimal]


class Builder:
    def __init__(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        self.client = client
        self.rng = rng
        self.n = 0
        self.root: dict[str, str] = {}

    async def login(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        r = await self.client.post(
            "/api/v1/auth/token", data={"username": email, "password": password}
        )
        return {"Authorization": f"Bearer {expect(r, 200)['access_token']}"}

    async def organization(self, kind: str, name: str, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": kind,
            "name": name,
            "tax_id": ecuador_ruc(self.rng),
            "country": "EC",
            "province": "Cotopaxi",
            "canton": "Latacunga",
            "parish": "Mulaló",
            "latitude": -0.78,
            "longitude": -78.58,
            **fields,
        }
        r = await self.client.post("/api/v1/organizations", json=body, headers=self.root)
        return expect(r, 201)

    async def member(self, organization_id: str, role: str) -> dict[str, str]:
        self.n += 1
        email = f"bench{self.n}@minga.ec"
        r = await self.client.post(
            f"/api/v1/organizations/{organization_id}/members",
            json={"email": email, "full_name": "Ana Toapanta", "password": PASSWORD, "role": role},
            headers=self.root,
        )
        expect(r, 201)
        return await self.login(email)

    async def build(
        self, *, associations: int, skus: int, buyers: int, offer_per_association: Decimal
    ) -> Market:
        self.root = await self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
        network = await self.organization("network", "Red Agroecológica de Cotopaxi")
        admin = await self.member(network["id"], "admin")
        r = await self.client.post(
            "/api/v1/brands", json={**BRAND, "network_id": network["id"]}, headers=admin
        )
        brand = expect(r, 201)

        sku_ids = []
        for i in range(skus):
            name = SKU_NAMES[i % len(SKU_NAMES)]
            if i >= len(SKU_NAMES):
                name += f" ({i // len(SKU_NAMES) + 1})"
            r = await self.client.post(
                f"/api/v1/brands/{brand['id']}/skus",
                json={
                    "name": f"{name} Sabores de Cotopaxi",
                    "category": "dairy",
                    "unit": "unit",
                    "pack_size": "1",
                    "unit_weight_kg": "0.5",
                    "producer_price_cents": 250,
                    "tiers": [
                        {"min_quantity": "0", "unit_price_cents": 400},
                        {"min_quantity": "100", "unit_price_cents": 360},
                        {"min_quantity": "500", "unit_price_cents": 330},
                    ],
                    "solidarity_fund_bps": 150,
                },
                headers=admin,
            )
            sku_ids.append(expect(r, 201)["id"])

        suppliers: list[tuple[str, dict[str, str]]] = []
        for i in range(associations):
            association = await self.organization("association", f"Asociación {i + 1}")
            r = await self.client.post(
                f"/api/v1/networks/{network['id']}/associations",
                json={"association_id": association["id"]},
                headers=self.root,  # a network admin's request would only invite it
            )
            expect(r, 201)
            staff = await self.member(association["id"], "staff")
            r = await self.client.post(
                f"/api/v1/brands/{brand['id']}/licenses",
                json={"association_id": association["id"]},
                headers=admin,
            )
            expect(r, 201)
            r = await self.client.post(
                "/api/v1/products",
                json=sheet(association["id"], f"Lácteos de la asociación {i + 1}"),
                headers=staff,
            )
            product = expect(r, 201)
            r = await self.client.post(f"/api/v1/products/{product['id']}/publish", headers=staff)
            expect(r, 200)
            for sku_id in sku_ids:
                r = await self.client.post(
                    f"/api/v1/skus/{sku_id}/suppliers",
                    json={"product_id": product["id"]},
                    headers=admin,
                )
                expect(r, 201)
            suppliers.append((association["id"], staff))

        centre = await self.organization("collection_centre", "Centro de acopio Latacunga")
        buyer_logins = []
        for i in range(buyers):
            buyer = await self.organization(
                "buyer", f"Restaurante {i + 1}", buyer_type="restaurant"
            )
            buyer_logins.append((buyer["id"], await self.member(buyer["id"], "staff")))

        now = datetime.now(UTC)
        r = await self.client.post(
            "/api/v1/cycles",
            json={
                "network_id": network["id"],
                "collection_centre_id": centre["id"],
                "opens_at": (now - timedelta(hours=1)).isoformat(),
                "closes_at": (now + timedelta(days=2)).isoformat(),
                "delivery_date": (now + timedelta(days=3)).date().isoformat(),
                "allocation_policy": "proportional",
            },
            headers=admin,
        )
        cycle = expect(r, 201)
        if cycle["status"] != "open":
            raise RuntimeError(f"the cycle is {cycle['status']}, not open")
        offered: dict[str, Decimal] = defaultdict(Decimal)
        for association_id, staff in suppliers:
            for sku_id in sku_ids:
                r = await self.client.post(
                    f"/api/v1/cycles/{cycle['id']}/offers",
                    json={
                        "sku_id": sku_id,
                        "association_id": association_id,
                        "quantity": str(offer_per_association),
                    },
                    headers=staff,
                )
                expect(r, 201)
                offered[sku_id] += offer_per_association
        return Market(network["id"], admin, cycle["id"], sku_ids, buyer_logins, dict(offered))


# --- the load ---------------------------------------------------------------------------------


@dataclass
class Sample:
    started: float
    finished: float
    status: int  # 0 when the request failed without an answer (timeout, connection)
    code: str
    lines: dict[str, Decimal]
    order_id: str | None = None

    @property
    def latency(self) -> float:
        return self.finished - self.started


async def client_loop(
    base_url: str,
    market: Market,
    buyer: tuple[str, dict[str, str]],
    stop_at: float,
    seed: int,
    samples: list[Sample],
) -> None:
    rng = random.Random(seed)  # noqa: S311 - order shapes, not secrets
    buyer_id, headers = buyer
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, timeout=30, limits=limits
    ) as client:
        while time.monotonic() < stop_at:
            skus = rng.sample(market.sku_ids, rng.randint(1, min(3, len(market.sku_ids))))
            lines = {s: Decimal(rng.randint(1, 3)) for s in skus}
            body = {
                "buyer_id": buyer_id,
                "cycle_id": market.cycle_id,
                "lines": [{"sku_id": s, "quantity": str(q)} for s, q in lines.items()],
                "payment_method": "invoice",
            }
            started = time.monotonic()
            try:
                r = await client.post(
                    "/api/v1/orders", json=body, headers={"Idempotency-Key": str(uuid.uuid4())}
                )
            except httpx.TransportError as e:
                samples.append(Sample(started, time.monotonic(), 0, type(e).__name__, lines))
                continue
            finished = time.monotonic()
            code = ""
            order_id = None
            if r.status_code == 201:
                order_id = r.json()["id"]
            else:
                with contextlib.suppress(ValueError):
                    code = str(r.json().get("code", ""))
                if r.status_code >= 500:
                    print(f"  {r.status_code} on POST /orders {json.dumps(body)}: {r.text}")
            samples.append(Sample(started, finished, r.status_code, code, lines, order_id))


@dataclass
class Result:
    workers: int
    clients: int
    skus: int
    duration: float
    samples: list[Sample]
    window: list[Sample]
    consistency: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    cpu: CpuUse | None = None
    waits: Waits | None = None

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.window if s.status == 201]

    @property
    def orders_per_second(self) -> float:
        return len(self.ok) / self.duration

    def percentile(self, p: int) -> float:
        latencies = sorted(s.latency for s in self.window)
        if len(latencies) < 2:
            return latencies[0] if latencies else float("nan")
        return statistics.quantiles(latencies, n=100, method="inclusive")[p - 1]

    @property
    def errors(self) -> Counter[str]:
        return Counter(
            f"{s.status} {s.code}".strip() if s.status else s.code
            for s in self.samples
            if s.status != 201
        )


TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot, from /proc/stat (Linux; 0s elsewhere)."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state, ppid, …)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def process_jiffies(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[11]) + int(fields[12]) if len(fields) > 12 else 0  # utime + stime


def process_tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and len(fields := _stat(int(entry.name))) > 1:
            parents[int(entry.name)] = int(fields[1])
    tree = [root]
    for pid in tree:
        tree += [child for child, parent in parents.items() if parent == pid]
    return tree


@dataclass(frozen=True)
class CpuUse:
    """CPUs in use on average during the window (1.0 = one core busy all the time)."""

    machine: float
    server: float
    database: float
    generator: float

    @property
    def other(self) -> float:
        """Everything else running on the machine (other programs, the OS)."""
        return max(0.0, self.machine - self.server - self.database - self.generator)


@dataclass(frozen=True)
class CpuSnapshot:
    at: float
    machine: int
    server: dict[int, int]
    database: dict[int, int]
    generator: int


class CpuMeter:
    """Splits the machine's CPU time into the server's processes, the PostgreSQL backends
    of the benchmark database, this load generator, and everything else."""

    def __init__(self, server_pid: int, pg: str, database: str) -> None:
        self.server_pid = server_pid
        self.pg = pg
        self.database = database

    async def _backends(self) -> list[int]:
        conn = await asyncpg.connect(admin_dsn(self.pg))
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1", self.database
            )
        finally:
            await conn.close()
        return [int(row["pid"]) for row in rows]

    async def snapshot(self) -> CpuSnapshot:
        backends = await self._backends()
        return CpuSnapshot(
            at=time.monotonic(),
            machine=machine_jiffies()[0],
            server={p: process_jiffies(p) for p in process_tree(self.server_pid)},
            database={p: process_jiffies(p) for p in backends},
            generator=process_jiffies(os.getpid()),
        )

    async def between(self, start: float, stop: float) -> CpuUse:
        await asyncio.sleep(max(0.0, start - time.monotonic()))
        first = await self.snapshot()
        await asyncio.sleep(max(0.0, stop - time.monotonic()))
        last = await self.snapshot()
        ticks = (last.at - first.at) * TICK

        def spent(before: dict[int, int], after: dict[int, int]) -> float:
            # a process born during the window counts whole
            return sum(j - before.get(p, 0) for p, j in after.items()) / ticks

        return CpuUse(
            machine=(last.machine - first.machine) / ticks,
            server=spent(first.server, last.server),
            database=spent(first.database, last.database),
            generator=(last.generator - first.generator) / ticks,
        )


@dataclass(frozen=True)
class Waits:
    """Mean number of the benchmark database's backends, sampled every half second."""

    in_transaction: float  # running a statement or idle inside a transaction
    on_locks: float  # waiting for a lock held by another transaction (the hot stock rows)


async def sample_waits(pg: str, database: str, start: float, stop: float) -> Waits:
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    conn = await asyncpg.connect(admin_dsn(pg))
    busy: list[int] = []
    locked: list[int] = []
    try:
        while time.monotonic() < stop:
            row = await conn.fetchrow(
                "SELECT count(*) FILTER (WHERE state <> 'idle') AS busy,"
                " count(*) FILTER (WHERE wait_event_type = 'Lock') AS locked"
                " FROM pg_stat_activity WHERE datname = $1",
                database,
            )
            busy.append(int(row["busy"]))
            locked.append(int(row["locked"]))
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    if not busy:
        return Waits(float("nan"), float("nan"))
    return Waits(statistics.fmean(busy), statistics.fmean(locked))


async def wait_quiet(within: float, threshold: float = 0.3) -> None:
    """Wait (at most ``within`` seconds) until other programs leave the CPUs nearly idle."""
    deadline = time.monotonic() + within
    while True:
        busy0, total0 = machine_jiffies()
        await asyncio.sleep(2)
        busy1, total1 = machine_jiffies()
        cpus = (busy1 - busy0) / (total1 - total0) * (os.cpu_count() or 1) if total1 > total0 else 0
        if cpus < threshold:
            return
        if time.monotonic() > deadline:
            print(f"  the machine is still busy ({cpus:.2f} CPUs in use); measuring anyway")
            return
        print(f"  waiting for the machine to quiet down ({cpus:.2f} CPUs in use by others)")
        await asyncio.sleep(3)


async def check_consistency(
    client: httpx.AsyncClient, market: Market, ok: list[Sample]
) -> list[str]:
    """What does not add up (an empty list when everything does)."""
    problems = []
    accepted: dict[str, Decimal] = defaultdict(Decimal)
    for s in ok:
        for sku_id, quantity in s.lines.items():
            accepted[sku_id] += quantity
    r = await client.get(
        f"/api/v1/cycles/{market.cycle_id}/availability", headers=market.buyers[0][1]
    )
    rows = {row["sku_id"]: row for row in expect_list(r)}
    for sku_id in market.sku_ids:
        row = rows.get(sku_id)
        if row is None:
            problems.append(f"SKU {sku_id} missing from the availability")
            continue
        reserved, offered = Decimal(row["reserved"]), Decimal(row["offered"])
        if reserved != accepted[sku_id]:
            problems.append(f"SKU {sku_id}: reserved {reserved}, accepted {accepted[sku_id]}")
        if offered != market.offered[sku_id]:
            problems.append(f"SKU {sku_id}: offered {offered}, expected {market.offered[sku_id]}")
        if Decimal(row["available"]) != offered - reserved:
            problems.append(f"SKU {sku_id}: available {row['available']} != offered - reserved")

    listed: set[str] = set()
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"cycle_id": market.cycle_id, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        r = await client.get("/api/v1/orders", params=params, headers=market.admin)
        page = expect(r, 200)
        listed.update(o["id"] for o in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    answered = {s.order_id for s in ok if s.order_id}
    if listed != answered:
        problems.append(
            f"orders listed {len(listed)}, answered 201 {len(answered)}; "
            f"{len(listed - answered)} unanswered, {len(answered - listed)} missing"
        )
    return problems


def expect_list(response: httpx.Response) -> list[dict[str, Any]]:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url.path} answered {response.status_code}")
    result: list[dict[str, Any]] = response.json()
    return result


async def run_series(args: argparse.Namespace, workers: int, skus: int, log_dir: Path) -> Result:
    database_url = f"postgresql+asyncpg://{args.pg.split('://', 1)[1].rstrip('/')}/{args.database}"
    await recreate_database(args.pg, args.database)
    await asyncio.to_thread(migrate.upgrade, database_url)
    await asyncio.to_thread(create_admin, database_url)
    server = start_server(database_url, workers, log_dir / f"server-{workers}w.log")
    try:
        await wait_ready(server)
        async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
            builder = Builder(client, random.Random(2026))  # noqa: S311 - test data
            market = await builder.build(
                associations=args.associations,
                skus=skus,
                buyers=args.clients,
                offer_per_association=Decimal(args.offer),
            )
            print(
                f"  market: {args.associations} associations, {len(market.sku_ids)} SKUs, "
                f"{len(market.buyers)} buyers, cycle {market.cycle_id}"
            )
            if args.quiet_wait > 0:
                await wait_quiet(args.quiet_wait)
            samples: list[Sample] = []
            start = time.monotonic()
            window_start = start + args.warmup
            stop_at = window_start + args.duration
            meter = CpuMeter(server.process.pid, args.pg, args.database)
            cpu = asyncio.create_task(meter.between(window_start, stop_at))
            waits = asyncio.create_task(sample_waits(args.pg, args.database, window_start, stop_at))
            await asyncio.gather(
                *(
                    client_loop(server.base_url, market, buyer, stop_at, i, samples)
                    for i, buyer in enumerate(market.buyers)
                )
            )
            # the window: the answers that arrived inside it (started during the warm-up or not)
            window = [s for s in samples if window_start <= s.finished <= stop_at]
            ok = [s for s in samples if s.status == 201]
            result = Result(workers, args.clients, skus, args.duration, samples, window)
            result.cpu = await cpu
            result.waits = await waits
            result.consistency = await check_consistency(client, market, ok)
            if server.process.poll() is not None:
                result.server_errors.append("the server stopped during the run")
    finally:
        server.stop()
        await drop_database(args.pg, args.database)
    log = server.log()
    if "Traceback" in log or '"level": "ERROR"' in log:
        result.server_errors.append(log)
    return result


# --- the report -------------------------------------------------------------------------------


def cpu_text(cpu: CpuUse | None) -> str:
    if cpu is None:
        return "n/a"
    return f"{cpu.server:.2f} / {cpu.database:.2f} / {cpu.generator:.2f} / {cpu.other:.2f}"


def waits_text(waits: Waits | None) -> str:
    if waits is None:
        return "n/a"
    return f"{waits.in_transaction:.1f} / {waits.on_locks:.1f}"


def cpu_per_order(r: Result) -> str:
    """Server and PostgreSQL CPU time per placed order, in milliseconds."""
    if r.cpu is None or not r.ok:
        return "n/a"
    return f"{(r.cpu.server + r.cpu.database) / r.orders_per_second * 1000:.1f}"


def table(results: list[Result]) -> str:
    rows = [
        "| uvicorn workers | clients | SKUs | window (s) | orders placed (201) | orders/s "
        "| p50 (ms) | p95 (ms) | p99 (ms) | non-201 answers (whole run) | consistent "
        "| CPUs used: server / PostgreSQL / load generator / other programs "
        "| server + PostgreSQL CPU per order (ms) "
        "| PostgreSQL sessions in a transaction / waiting on a lock (mean) |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
        "| --- | --- | --- | ---: | ---: |",
    ]
    for r in results:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(r.errors.items())) or "none"
        rows.append(
            f"| {r.workers} | {r.clients} | {r.skus} | {r.duration:g} | {len(r.ok)} "
            f"| {r.orders_per_second:.1f} | {r.percentile(50) * 1000:.0f} "
            f"| {r.percentile(95) * 1000:.0f} | {r.percentile(99) * 1000:.0f} "
            f"| {errors} | {'yes' if not r.consistency else 'NO'} | {cpu_text(r.cpu)} "
            f"| {cpu_per_order(r)} | {waits_text(r.waits)} |"
        )
    return "\n".join(rows)


def write_doc(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else ""
    if DOC_BEGIN in text and DOC_END in text:
        head, rest = text.split(DOC_BEGIN, 1)
        _, tail = rest.split(DOC_END, 1)
        text = f"{head}{DOC_BEGIN}\n{block}\n{DOC_END}{tail}"
    else:
        text = f"{text.rstrip()}\n\n{DOC_BEGIN}\n{block}\n{DOC_END}\n".lstrip()
    path.write_text(text)


async def main(args: argparse.Namespace) -> int:
    version = await server_version(args.pg)
    print(f"PostgreSQL: {version}")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    results = []
    with tempfile.TemporaryDirectory(prefix="minga-bench-") as tmp:
        for skus, workers in itertools.product(args.skus, args.workers):
            print(
                f"series: {workers} worker(s), {args.clients} clients, {skus} SKUs, "
                f"{args.warmup:g} s warm-up + {args.duration:g} s"
            )
            result = await run_series(args, workers, skus, Path(tmp))
            results.append(result)
            print(
                f"  {len(result.ok)} orders in {args.duration:g} s = "
                f"{result.orders_per_second:.1f} orders/s, p50 {result.percentile(50) * 1000:.0f}"
                f" ms, p95 {result.percentile(95) * 1000:.0f} ms, "
                f"p99 {result.percentile(99) * 1000:.0f} ms; "
                f"non-201 (whole run): {dict(result.errors) or 'none'}; CPUs used by server / "
                f"PostgreSQL / load generator / others: {cpu_text(result.cpu)}; PostgreSQL "
                f"sessions busy / waiting on locks: {waits_text(result.waits)}"
            )
            for problem in result.consistency:
                print(f"  INCONSISTENT: {problem}")
            for log in result.server_errors:
                print(f"  server log with tracebacks:\n{log}")
    report = table(results)
    print()
    print(report)
    if args.doc:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        block = (
            f"Measured {stamp}; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
            f"{version.split(' on ')[0]}.\n\n{report}"
        )
        write_doc(args.doc, block)
        print(f"\nwritten to {args.doc}")
    failed = any(
        r.consistency or r.server_errors or any(s.status >= 500 for s in r.samples) for r in results
    )
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=20, help="measured seconds")
    parser.add_argument("--warmup", type=float, default=3, help="seconds before measuring")
    parser.add_argument("--clients", type=int, default=20, help="concurrent buyers")
    parser.add_argument(
        "--workers", type=int, nargs="+", default=[2, 1], help="uvicorn workers, one series each"
    )
    parser.add_argument("--associations", type=int, default=3)
    parser.add_argument(
        "--skus",
        type=int,
        nargs="+",
        default=[4],
        help="brand SKUs (every order takes 1-3 of them); one series per count and worker count",
    )
    parser.add_argument(
        "--offer", default="200000", help="units each association offers of each SKU"
    )
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server (no database name); a database is created and dropped on it",
    )
    parser.add_argument("--database", default="minga_bench_orders")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=300,
        help="before each series, wait up to this many seconds for other programs to leave "
        "the CPUs idle (0: do not wait)",
    )
    parser.add_argument(
        "--doc", type=Path, help="markdown file whose bench-orders block gets the results"
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or min(args.skus) < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("--clients and --skus must be >= 1, --duration > 0, --warmup >= 0")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))

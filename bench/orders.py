"""CPU per order of ``POST /api/v1/orders``: Minga next to its floor, interleaved, at three
catalogue sizes.

For each catalogue size (SKUs of the brand, all offered in one open cycle):

1. drops and recreates a PostgreSQL database and migrates it;
2. starts two servers on it, each one uvicorn worker: Minga (``app.asgi:app``) and the floor
   (``bench.floor:app``, a minimal FastAPI app doing the same essential writes: JWT, gate,
   reserve, order, lines, payment row, event, Idempotency-Key row; ``bench/floor_orders.py``);
3. builds the market through Minga's API (one association supplying one SKU, a network,
   buyers with staff logins, an open cycle) and clones the SKU in SQL up to the size (with
   its tiers, supplier, offer and stock row), since building thousands through HTTP says
   nothing about orders;
4. alternates short windows on Minga and on the floor (a warm-up window each first): in a
   window, ``--clients`` buyers place invoice orders of 2 lines (distinct random SKUs, 1-3
   units, a fresh ``Idempotency-Key``) on that server, as fast as it answers;
5. reads the CPU time of the server process and of the database's PostgreSQL backends from
   ``/proc`` at both ends of each window: CPU per order holds on a busy machine, where
   req/s does not (other programs' load is reported next to the figures);
6. checks that the cycle's reserved quantities equal the sum of the orders answered 201 by
   both servers, and that the network lists exactly those orders.

Exits 1 on a 5xx, an error in a server log, a refused order or an inconsistency. Run from
the project folder (``--doc`` rewrites the results block of a markdown file and draws the
chart next to it)::

    /work/main/.venv/bin/python -m bench.orders --skus 40 400 4000 --doc docs/bench-orders.md

All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from collections import defaultdict
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
        "PYTHONPATH": str(PROJECT),
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


# this checkout's code, run by the interpreter running the driver (a worktree has no .venv)
MINGA = [sys.executable, "-c", "from app.cli import app; app()"]
UVICORN = [sys.executable, "-m", "uvicorn"]


def create_admin(database_url: str) -> None:
    """The first admin, made before the server starts: workers that start together each try
    to create it from the settings, and the loser of that race stops the whole server."""
    command = [*MINGA, "admin", "create", "--email", ADMIN_EMAIL]
    command += ["--password", ADMIN_PASSWORD]
    subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        command, cwd=PROJECT, env=server_env(database_url), check=True, capture_output=True
    )


def start_server(database_url: str, workers: int, log_path: Path) -> Server:
    port = free_port()
    command = [*MINGA, "serve", "--host", HOST, "--port", str(port)]
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


# --- the servers, the market at size ------------------------------------------------------------


def start_uvicorn(target: str, database_url: str, log_path: Path) -> Server:
    """One uvicorn worker serving ``target`` (Minga's or the floor's app), on this checkout."""
    port = free_port()
    command = [*UVICORN, target, "--host", HOST, "--port", str(port), "--workers", "1"]
    command += ["--log-level", "warning", "--no-access-log"]
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - our own apps, fixed arguments
            command, cwd=PROJECT, env=server_env(database_url), stdout=log, stderr=subprocess.STDOUT
        )
    return Server(process, f"http://{HOST}:{port}", log_path)


async def wait_answering(server: Server, path: str, within: float = 60) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=server.base_url, timeout=2) as client:
        while time.monotonic() < deadline:
            if server.process.poll() is not None:
                raise RuntimeError(f"the server exited early:\n{server.log()}")
            with contextlib.suppress(httpx.TransportError):
                if (await client.get(path)).status_code < 500:
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the server did not answer within {within} s:\n{server.log()}")


async def clone_skus(dsn: str, market: Market, size: int) -> None:
    """Copy the market's one SKU ``size - 1`` times in SQL, with every row that refers to it
    (tiers, supplier, offer, the cycle's stock row): a catalogue of ``size`` SKUs."""
    [template] = market.sku_ids
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute(
                "CREATE TEMP TABLE clones AS SELECT gen_random_uuid()::text AS id, n"
                " FROM generate_series(2, $1::int) AS n",
                size,
            )
            tables = await conn.fetch(
                "SELECT table_name, array_agg(column_name::text ORDER BY ordinal_position) AS cols"
                " FROM information_schema.columns WHERE table_schema = 'public'"
                " GROUP BY table_name"
            )
            columns = {r["table_name"]: list(r["cols"]) for r in tables}

            def copy(table: str, key: str) -> str:
                picked = []
                for c in columns[table]:
                    if c == "id":
                        picked.append(
                            "c.id" if table == "brand_skus" else "gen_random_uuid()::text"
                        )
                    elif c == key:
                        picked.append("c.id")
                    elif table == "brand_skus" and c == "name":
                        picked.append("t.name || ' (' || c.n || ')'")
                    else:
                        picked.append(f"t.{c}")
                names = ", ".join(f'"{c}"' for c in columns[table])
                # names from the catalogue of our own schema, not from input
                return (
                    f'INSERT INTO "{table}" ({names}) SELECT {", ".join(picked)}'  # noqa: S608
                    f' FROM "{table}" AS t, clones AS c WHERE t."{key}" = $1'
                )

            await conn.execute(copy("brand_skus", "id"), template)
            for table, cols in columns.items():
                if "sku_id" in cols and table != "brand_skus":
                    await conn.execute(copy(table, "sku_id"), template)
            clones = await conn.fetch("SELECT id FROM clones ORDER BY n")
        # what autovacuum would do after such an insert (and does not where it is off, as
        # on this machine's server): without statistics the planner takes the clones for
        # one SKU and scans whole tables for a page's 50
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    market.sku_ids += [r["id"] for r in clones]
    for sku_id in market.sku_ids[1:]:
        market.offered[sku_id] = market.offered[template]


# --- the load -----------------------------------------------------------------------------------


@dataclass
class Sample:
    server: str
    window: int
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
    server: str,
    window: int,
    client: httpx.AsyncClient,
    market: Market,
    buyer: tuple[str, dict[str, str]],
    stop_at: float,
    rng: random.Random,
    samples: list[Sample],
) -> None:
    buyer_id, headers = buyer
    while time.monotonic() < stop_at:
        skus = rng.sample(market.sku_ids, 2)
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
                "/api/v1/orders",
                json=body,
                headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
            )
        except httpx.TransportError as e:
            samples.append(Sample(server, window, started, time.monotonic(), 0, str(e), lines))
            continue
        finished = time.monotonic()
        code, order_id = "", None
        if r.status_code == 201:
            order_id = r.json()["id"]
        else:
            with contextlib.suppress(ValueError):
                code = str(r.json().get("code", ""))
            print(f"  {server}: {r.status_code} on POST /orders {json.dumps(body)}: {r.text}")
        samples.append(
            Sample(server, window, started, finished, r.status_code, code, lines, order_id)
        )


@dataclass(frozen=True)
class Cpu:
    """Jiffies of the server process (and its children), of the database's backends, and
    of the whole machine."""

    server: int
    database: int
    machine: int


async def backends(pg: str, database: str) -> list[int]:
    conn = await asyncpg.connect(admin_dsn(pg))
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await conn.close()
    return [int(r["pid"]) for r in rows]


async def cpu_now(
    server_pid: int, pg: str, database: str
) -> tuple[dict[int, int], dict[int, int], int]:
    pids = await backends(pg, database)
    return (
        {p: process_jiffies(p) for p in process_tree(server_pid)},
        {p: process_jiffies(p) for p in pids},
        machine_jiffies()[0],
    )


def cpu_between(
    first: tuple[dict[int, int], dict[int, int], int],
    last: tuple[dict[int, int], dict[int, int], int],
) -> Cpu:
    def spent(before: dict[int, int], after: dict[int, int]) -> int:
        return sum(j - before.get(p, 0) for p, j in after.items())  # a newborn counts whole

    return Cpu(spent(first[0], last[0]), spent(first[1], last[1]), last[2] - first[2])


@dataclass
class Series:
    """One server's measured windows at one size."""

    server: str
    skus: int
    seconds: float = 0.0
    cpu_server: int = 0
    cpu_database: int = 0
    cpu_machine: int = 0
    samples: list[Sample] = field(default_factory=list)

    @property
    def ok(self) -> list[Sample]:
        return [s for s in self.samples if s.status == 201]

    @property
    def per_second(self) -> float:
        return len(self.ok) / self.seconds if self.seconds else float("nan")

    def ms_per_order(self, jiffies: int) -> float:
        return jiffies / TICK * 1000 / len(self.ok) if self.ok else float("nan")

    @property
    def server_ms(self) -> float:
        return self.ms_per_order(self.cpu_server)

    @property
    def database_ms(self) -> float:
        return self.ms_per_order(self.cpu_database)

    @property
    def others_cpus(self) -> float:
        """CPUs used on average by everything but this server and its backends."""
        rest = self.cpu_machine - self.cpu_server - self.cpu_database
        return rest / TICK / self.seconds if self.seconds else float("nan")

    def percentile(self, p: int) -> float:
        latencies = sorted(s.latency for s in self.ok)
        if len(latencies) < 2:
            return latencies[0] if latencies else float("nan")
        return statistics.quantiles(latencies, n=100, method="inclusive")[p - 1]


@dataclass
class Size:
    skus: int
    minga: Series
    floor: Series
    consistency: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    @property
    def ratio(self) -> float:
        return self.minga.server_ms / self.floor.server_ms

    @property
    def ratio_with_database(self) -> float:
        return (self.minga.server_ms + self.minga.database_ms) / (
            self.floor.server_ms + self.floor.database_ms
        )


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
        reserved = Decimal(row["reserved"])
        if reserved != accepted[sku_id]:
            problems.append(f"SKU {sku_id}: reserved {reserved}, accepted {accepted[sku_id]}")
    listed: set[str] = set()
    cursor: str | None = None
    while True:
        params: dict[str, str | int] = {"cycle_id": market.cycle_id, "limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = expect(await client.get("/api/v1/orders", params=params, headers=market.admin), 200)
        listed.update(o["id"] for o in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    answered = {s.order_id for s in ok if s.order_id}
    if listed != answered:
        problems.append(f"orders listed {len(listed)}, answered 201 {len(answered)}")
    return problems


def expect_list(response: httpx.Response) -> list[dict[str, Any]]:
    if response.status_code != 200:
        raise RuntimeError(f"{response.request.url.path} answered {response.status_code}")
    result: list[dict[str, Any]] = response.json()
    return result


async def run_size(args: argparse.Namespace, skus: int, log_dir: Path) -> Size:
    database = f"{args.database}_{skus}"
    base = args.pg.split("://", 1)[1].rstrip("/")
    database_url = f"postgresql+asyncpg://{base}/{database}"
    await recreate_database(args.pg, database)
    await asyncio.to_thread(migrate.upgrade, database_url)
    minga = start_uvicorn("app.asgi:app", database_url, log_dir / f"minga-{skus}.log")
    floor = start_uvicorn("bench.floor:app", database_url, log_dir / f"floor-{skus}.log")
    servers = {"minga": minga, "floor": floor}
    size = Size(skus, Series("minga", skus), Series("floor", skus))
    try:
        await wait_answering(minga, "/readyz")
        await wait_answering(floor, "/")
        async with httpx.AsyncClient(base_url=minga.base_url, timeout=60) as client:
            builder = Builder(client, random.Random(2026))  # noqa: S311 - test data
            market = await builder.build(
                associations=1,
                skus=1,
                buyers=args.clients,
                offer_per_association=Decimal(args.offer),
            )
            await clone_skus(f"postgresql://{base}/{database}", market, skus)
            print(f"  market: {len(market.sku_ids)} SKUs, {len(market.buyers)} buyers")
            if args.quiet_wait > 0:
                await wait_quiet(args.quiet_wait)
            rng = random.Random(7)  # noqa: S311 - order shapes, not secrets
            samples: list[Sample] = []
            limits = httpx.Limits(
                max_connections=args.clients, max_keepalive_connections=args.clients
            )
            clients = {
                name: httpx.AsyncClient(base_url=s.base_url, timeout=30, limits=limits)
                for name, s in servers.items()
            }
            try:
                order = ["minga", "floor"]
                for window in range(-1, args.windows):
                    for name in order if window % 2 else order[::-1]:
                        series = getattr(size, name)
                        first = await cpu_now(servers[name].process.pid, args.pg, database)
                        start = time.monotonic()
                        got: list[Sample] = []
                        await asyncio.gather(
                            *(
                                client_loop(
                                    name,
                                    window,
                                    clients[name],
                                    market,
                                    buyer,
                                    start + args.window,
                                    rng,
                                    got,
                                )
                                for buyer in market.buyers
                            )
                        )
                        elapsed = time.monotonic() - start
                        last = await cpu_now(servers[name].process.pid, args.pg, database)
                        samples += got
                        if window < 0:
                            continue  # the warm-up
                        cpu = cpu_between(first, last)
                        series.seconds += elapsed
                        series.cpu_server += cpu.server
                        series.cpu_database += cpu.database
                        series.cpu_machine += cpu.machine
                        series.samples += got
            finally:
                for c in clients.values():
                    await c.aclose()
            size.consistency = await check_consistency(
                client, market, [s for s in samples if s.status == 201]
            )
            if any(s.status != 201 for s in samples):
                size.consistency.append(
                    f"{sum(s.status != 201 for s in samples)} orders not answered 201"
                )
    finally:
        for s in servers.values():
            s.stop()
        await drop_database(args.pg, database)
    for name, s in servers.items():
        log = s.log()
        if "Traceback" in log or '"level": "ERROR"' in log:
            size.server_errors.append(f"{name}: {log[-4000:]}")
    return size


# --- the report -----------------------------------------------------------------------------------


def table(sizes: list[Size]) -> str:
    rows = [
        "| SKUs | server | orders (201) | orders/s | p50 / p95 / p99 (ms) "
        "| server CPU per order (ms) | PostgreSQL CPU per order (ms) "
        "| server CPU ratio to the floor | server + PostgreSQL ratio "
        "| other programs (CPUs in use) | consistent |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for z in sizes:
        for s in (z.minga, z.floor):
            ratio = f"**{z.ratio:.2f}x**" if s is z.minga else "1"
            ratio_db = f"{z.ratio_with_database:.2f}x" if s is z.minga else "1"
            ok = "yes" if not z.consistency and not z.server_errors else "NO"
            rows.append(
                f"| {z.skus:,} | {s.server} | {len(s.ok)} | {s.per_second:.0f} "
                f"| {s.percentile(50) * 1000:.1f} / {s.percentile(95) * 1000:.1f} / "
                f"{s.percentile(99) * 1000:.1f} | {s.server_ms:.2f} | {s.database_ms:.2f} "
                f"| {ratio} | {ratio_db} | {s.others_cpus:.2f} | {ok} |"
            )
    return "\n".join(rows)


def chart(sizes: list[Size], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [z.skus for z in sizes]
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for name, style in (("minga", "-o"), ("floor", "--s")):
        ax.plot(xs, [getattr(z, name).server_ms for z in sizes], style, label=f"{name}: server")
        ax.plot(
            xs,
            [getattr(z, name).database_ms for z in sizes],
            style,
            alpha=0.5,
            label=f"{name}: PostgreSQL",
        )
    ax.set_xscale("log")
    ax.set_xticks(xs, [f"{x:,}" for x in xs])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("SKUs in the catalogue (each order: 2 lines, invoice, Idempotency-Key)")
    ax.set_ylabel("CPU per order (ms)")
    ax.set_title("POST /orders: CPU per order, Minga and its floor (1 uvicorn worker)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def write_doc(path: Path, block: str, begin: str = DOC_BEGIN, end: str = DOC_END) -> None:
    """Put ``block`` between the markers of ``path`` (added at its end when missing)."""
    text = path.read_text() if path.exists() else ""
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        _, tail = rest.split(end, 1)
        text = f"{head}{begin}\n{block}\n{end}{tail}"
    else:
        text = f"{text.rstrip()}\n\n{begin}\n{block}\n{end}\n".lstrip()
    path.write_text(text)


async def main(args: argparse.Namespace) -> int:
    version = await server_version(args.pg)
    print(f"PostgreSQL: {version}")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    sizes = []
    with tempfile.TemporaryDirectory(prefix="minga-bench-") as tmp:
        for skus in args.skus:
            print(
                f"size: {skus} SKUs; {args.windows} windows of {args.window:g} s per server, "
                f"interleaved, {args.clients} clients"
            )
            z = await run_size(args, skus, Path(tmp))
            sizes.append(z)
            for s in (z.minga, z.floor):
                print(
                    f"  {s.server}: {len(s.ok)} orders, {s.per_second:.0f}/s, server "
                    f"{s.server_ms:.2f} ms + PostgreSQL {s.database_ms:.2f} ms CPU per order; "
                    f"p50 {s.percentile(50) * 1000:.1f} ms; others {s.others_cpus:.2f} CPUs"
                )
            print(
                f"  ratio (server CPU): {z.ratio:.2f}; with PostgreSQL {z.ratio_with_database:.2f}"
            )
            for problem in z.consistency:
                print(f"  INCONSISTENT: {problem}")
            for log in z.server_errors:
                print(f"  server log with errors:\n{log}")
    report = table(sizes)
    print()
    print(report)
    if args.doc:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        png = args.doc.with_suffix(".png")
        chart(sizes, png)
        load = statistics.fmean(s.others_cpus for z in sizes for s in (z.minga, z.floor))
        block = (
            f"Measured {stamp}; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
            f"{version.split(' on ')[0]}; one uvicorn worker each; {args.clients} clients; "
            f"{args.windows} windows of {args.window:g} s per server, interleaved. Other programs "
            f"used {load:.2f} CPUs on average meanwhile (the load generator among them).\n\n"
            f"{report}\n\n![CPU per order against catalogue size]({png.name})"
        )
        write_doc(args.doc, block)
        print(f"\nwritten to {args.doc} and {png}")
    failed = any(z.consistency or z.server_errors for z in sizes)
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--skus", type=int, nargs="+", default=[40, 400, 4000])
    parser.add_argument("--clients", type=int, default=4, help="concurrent buyers")
    parser.add_argument("--windows", type=int, default=6, help="measured windows per server")
    parser.add_argument("--window", type=float, default=4, help="seconds per window")
    parser.add_argument("--offer", default="1000000", help="units offered of each SKU")
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server (no database name); databases are created and dropped on it",
    )
    parser.add_argument("--database", default="h_orders_bench")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0,
        help="before each size, wait up to this many seconds for the CPUs to be nearly idle",
    )
    parser.add_argument(
        "--doc", type=Path, help="markdown file whose bench-orders block gets the results"
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or min(args.skus) < 2 or args.window <= 0 or args.windows < 1:
        parser.error("--clients >= 1, --skus >= 2, --window > 0, --windows >= 1")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))

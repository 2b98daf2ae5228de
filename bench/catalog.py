"""Throughput and latency of ``GET /api/v1/skus`` against a bare FastAPI endpoint.

The benchmark:

1. drops and recreates a PostgreSQL database and migrates it;
2. starts ``minga serve`` on a free loopback port and builds a catalogue through the HTTP API:
   a network with a brand of ``--skus`` SKUs (three price tiers each), ``--associations``
   licensed associations whose published sheets are approved suppliers of every SKU, and a
   buyer with a staff login;
3. walks every page of ``GET /api/v1/skus`` (``limit`` 50 and 200) as the buyer, keeping the
   page addresses (with their cursors) and saving the first page of each size byte for byte:
   the bare app (``bench/bare_app.py``) answers exactly those bytes;
4. for each worker count: serves Minga with ``minga serve --host 127.0.0.1 --port P --workers
   W``, then the bare app with ``uvicorn bench.bare_app:app`` and the same options; loads each
   with 1, 8 and 32 keep-alive clients (HTTP/1.1) that cycle over all the pages (so no one
   page is hot), without ``If-None-Match`` (full answers), for a warm-up and then a measured
   window; one extra row per worker count sends each page's ETag and measures the 304 path;
5. meanwhile splits the CPU time between the server, its PostgreSQL sessions, the load
   generator and other programs (Linux /proc);
6. stops the servers, drops the database, prints a table, checks the target (Minga at least
   40% of the bare endpoint's requests per second at 32 clients) and draws a chart.

The load generator is ``wrk`` (Debian package ``wrk``; a Lua script adds the Authorization
header and walks the cursors) when it is installed, else an asyncio + httpx client in this
process. Run from the project folder (the chart needs ``pip install matplotlib``)::

    .venv/bin/python -m bench.catalog --doc docs/bench-catalog.md \
        --chart docs/benchmarks-scaling.png

Exits 1 on a 5xx, a non-2xx/3xx answer in a measured window or an error in a server's log.
All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from app.core import migrate
from app.core.ids import new_id
from bench.orders import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    BRAND,
    HOST,
    PROJECT,
    TICK,
    Builder,
    Server,
    admin_dsn,
    create_admin,
    drop_database,
    expect,
    free_port,
    machine_jiffies,
    process_jiffies,
    process_tree,
    recreate_database,
    server_version,
    sheet,
    start_server,
    wait_quiet,
)

DOC_BEGIN = "<!-- bench-catalog:begin -->"
DOC_END = "<!-- bench-catalog:end -->"
UVICORN = PROJECT / ".venv" / "bin" / "uvicorn"
TARGET = 0.40
BUSY = 0.25  # CPUs used by other programs above which a row is measured again
NO_TOKEN = "-"  # noqa: S105 - the bare app is asked without a login
T = TypeVar("T")

SKU_NAMES = [
    "Queso fresco 500 g",
    "Yogur de mora 1 l",
    "Manjar de leche 250 g",
    "Quesillo 400 g",
    "Mantequilla 200 g",
    "Queso maduro 300 g",
]


# --- the catalogue, built through the API ----------------------------------------------------


async def bounded(limit: int, jobs: list[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the jobs at most ``limit`` at a time, in order of the answers' list."""
    gate = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[T]]) -> T:
        async with gate:
            return await job()

    return await asyncio.gather(*(one(job) for job in jobs))


@dataclass
class Catalogue:
    brand_id: str
    sku_ids: list[str]
    buyer: dict[str, str]  # the buyer's staff login headers


async def copy_supplier(pg: str, database: str, model_id: str, sku_ids: list[str]) -> None:
    """Approve the same sheet for ``sku_ids`` by copying the API's ``sku_suppliers`` row
    ``model_id`` (every column but the id and the SKU), ids made like the app makes them."""
    conn = await asyncpg.connect(f"{pg.rstrip('/')}/{database}")
    try:
        columns = [
            row["column_name"]
            for row in await conn.fetch(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_name = 'sku_suppliers' ORDER BY ordinal_position"
            )
        ]
        copied = [c for c in columns if c not in ("id", "sku_id")]
        listed = ", ".join(f'"{c}"' for c in copied)
        async with conn.transaction():
            await conn.executemany(
                f'INSERT INTO sku_suppliers ("id", "sku_id", {listed})'  # noqa: S608 - catalogue columns
                f" SELECT $1, $2, {listed} FROM sku_suppliers WHERE id = $3",
                [(new_id(), sku_id, model_id) for sku_id in sku_ids],
            )
    finally:
        await conn.close()


async def build_catalogue(
    client: httpx.AsyncClient,
    *,
    skus: int,
    associations: int,
    parallel: int,
    pg: str,
    database: str,
    suppliers_via_api: bool,
) -> Catalogue:
    builder = Builder(client, random.Random(2026))  # noqa: S311 - test data
    builder.root = await builder.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    network = await builder.organization("network", "Red Agroecológica de Cotopaxi")
    admin = await builder.member(network["id"], "admin")
    r = await client.post(
        "/api/v1/brands", json={**BRAND, "network_id": network["id"]}, headers=admin
    )
    brand = expect(r, 201)

    def make_sku(i: int) -> Callable[[], Awaitable[str]]:
        async def create() -> str:
            name = f"{SKU_NAMES[i % len(SKU_NAMES)]} Sabores de Cotopaxi nº {i + 1}"
            r = await client.post(
                f"/api/v1/brands/{brand['id']}/skus",
                json={
                    "name": name,
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
            return str(expect(r, 201)["id"])

        return create

    started = time.monotonic()
    sku_ids = await bounded(parallel, [make_sku(i) for i in range(skus)])
    print(f"  {skus} SKUs created in {time.monotonic() - started:.1f} s")

    for i in range(associations):
        association = await builder.organization("association", f"Asociación {i + 1}")
        r = await client.post(
            f"/api/v1/networks/{network['id']}/associations",
            json={"association_id": association["id"]},
            headers=builder.root,  # a network admin's request would only invite it
        )
        expect(r, 201)
        staff = await builder.member(association["id"], "staff")
        r = await client.post(
            f"/api/v1/brands/{brand['id']}/licenses",
            json={"association_id": association["id"]},
            headers=admin,
        )
        expect(r, 201)
        r = await client.post(
            "/api/v1/products",
            json=sheet(association["id"], f"Lácteos de la asociación {i + 1}"),
            headers=staff,
        )
        product = expect(r, 201)
        r = await client.post(f"/api/v1/products/{product['id']}/publish", headers=staff)
        expect(r, 200)

        def approve(sku_id: str, product_id: str = product["id"]) -> Callable[[], Awaitable[str]]:
            async def post() -> str:
                r = await client.post(
                    f"/api/v1/skus/{sku_id}/suppliers",
                    json={"product_id": product_id},
                    headers=admin,
                )
                return str(expect(r, 201)["id"])

            return post

        started = time.monotonic()
        if suppliers_via_api:
            await bounded(parallel, [approve(s) for s in sku_ids])
        else:
            # the API approves the first SKU (every brand rule checked), the rest copy its row
            model = await approve(sku_ids[0])()
            await copy_supplier(pg, database, model, sku_ids[1:])
        print(
            f"  association {i + 1}: {skus} suppliers approved "
            f"({'API' if suppliers_via_api else '1 by the API, the rest copied in SQL'}) "
            f"in {time.monotonic() - started:.1f} s"
        )

    buyer = await builder.organization("buyer", "Restaurante Pachamama", buyer_type="restaurant")
    return Catalogue(brand["id"], sku_ids, await builder.member(buyer["id"], "staff"))


@dataclass
class Pages:
    limit: int
    paths: list[str]  # every page's address, with its cursor
    etags: list[str]
    sizes: list[int]  # body bytes
    first_body: bytes


async def walk_pages(client: httpx.AsyncClient, headers: dict[str, str], limit: int) -> Pages:
    """Every page of the SKU list; checks that the pages hold each SKU exactly once."""
    paths, etags, sizes, seen = [], [], [], []
    first = b""
    cursor: str | None = None
    while True:
        path = f"/api/v1/skus?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        r = await client.get(path, headers=headers)
        page = expect(r, 200)
        if not first:
            first = r.content
        paths.append(path)
        etags.append(r.headers["etag"])
        sizes.append(len(r.content))
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    if len(seen) != len(set(seen)):
        raise RuntimeError(f"limit {limit}: a SKU appears on two pages")
    return Pages(limit, paths, etags, sizes, first)


# --- the servers ------------------------------------------------------------------------------


def start_bare(workers: int, pages_dir: Path, log_path: Path) -> Server:
    """The bare app, served like ``minga serve`` serves Minga (app/cli.py): uvicorn, same host,
    a free port, the same workers, proxy headers, no access log (Minga logs at WARNING)."""
    port = free_port()
    command = [str(UVICORN), "bench.bare_app:app", "--host", HOST, "--port", str(port)]
    command += ["--workers", str(workers), "--proxy-headers", "--log-level", "warning"]
    command += ["--timeout-graceful-shutdown", "30"]
    env = {**os.environ, "MINGA_BENCH_BARE_PAGES": str(pages_dir)}
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed arguments
            command, cwd=PROJECT, env=env, stdout=log, stderr=subprocess.STDOUT
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
                    await asyncio.sleep(0.5)  # let every worker finish its start-up
                    return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"the server was not ready within {within} s:\n{server.log()}")


# --- CPU accounting ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CpuUse:
    """CPUs in use on average during the window (1.0 = one core busy all the time)."""

    machine: float
    server: float
    database: float
    generator: float  # this driver and its wrk children
    workers: tuple[float, ...] = ()  # the server's processes, busiest first

    @property
    def other(self) -> float:
        return max(0.0, self.machine - self.server - self.database - self.generator)


async def _backends(pg: str, database: str | None) -> list[int]:
    if database is None:
        return []
    conn = await asyncpg.connect(admin_dsn(pg))
    try:
        rows = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE datname = $1", database)
    finally:
        await conn.close()
    return [int(row["pid"]) for row in rows]


async def _snapshot(server_pid: int, pg: str, database: str | None) -> dict[str, Any]:
    server = process_tree(server_pid)
    mine = [p for p in process_tree(os.getpid()) if p not in set(server)]
    return {
        "at": time.monotonic(),
        "machine": machine_jiffies()[0],
        "server": {p: process_jiffies(p) for p in server},
        "database": {p: process_jiffies(p) for p in await _backends(pg, database)},
        "generator": {p: process_jiffies(p) for p in mine},
    }


async def cpu_between(
    server_pid: int, pg: str, database: str | None, start: float, stop: float
) -> CpuUse:
    await asyncio.sleep(max(0.0, start - time.monotonic()))
    first = await _snapshot(server_pid, pg, database)
    await asyncio.sleep(max(0.0, stop - time.monotonic()))
    last = await _snapshot(server_pid, pg, database)
    ticks = (last["at"] - first["at"]) * TICK

    def spent(kind: str) -> float:
        before, after = first[kind], last[kind]
        return sum(j - before.get(p, 0) for p, j in after.items()) / ticks

    per_process = [
        (j - first["server"].get(p, 0)) / ticks
        for p, j in last["server"].items()
        if p != server_pid
    ]
    return CpuUse(
        machine=(last["machine"] - first["machine"]) / ticks,
        server=spent("server"),
        database=spent("database"),
        generator=spent("generator"),
        workers=tuple(sorted(per_process, reverse=True)),
    )


# --- the load ---------------------------------------------------------------------------------

WRK_SCRIPT = r"""
-- wrk script of bench/catalog.py: walks the pages, with the buyer's token and, if asked,
-- each page's ETag in If-None-Match. init's args: pages file, token ("-": none), "inm"/"full".
local paths, etags = {}, {}
local token, inm = "-", false
local i = 0
local thread_no = 0

function setup(thread)
  thread_no = thread_no + 1
  thread:set("offset", thread_no * 7919)
end

function init(args)
  for line in io.lines(args[1]) do
    local p, e = line:match("^([^\t]+)\t(.+)$")
    paths[#paths + 1] = p
    etags[#etags + 1] = e
  end
  token = args[2]
  inm = args[3] == "inm"
  i = (offset or 0) % #paths
end

function request()
  i = i % #paths + 1
  local headers = {}
  if token ~= "-" then headers["Authorization"] = "Bearer " .. token end
  if inm then headers["If-None-Match"] = etags[i] end
  return wrk.format("GET", paths[i], headers)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "mean_us": %.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


@dataclass
class Load:
    requests: int
    seconds: float
    p50: float  # seconds
    p99: float
    bytes_per_answer: float
    errors: dict[str, int]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds


async def wrk_load(
    base_url: str, pages_file: Path, script: Path, token: str, inm: bool, clients: int, secs: float
) -> Load:
    threads = 1 if clients < 8 else 2
    # wrk takes whole seconds; its own measured duration divides the count
    command = ["wrk", "-t", str(threads), "-c", str(clients), "-d", f"{max(1, round(secs))}s"]
    command += ["--timeout", "30s", "-s", str(script), base_url, "--", str(pages_file), token]
    command.append("inm" if inm else "full")
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    text = out.decode(errors="replace")
    line = next((x for x in text.splitlines() if x.startswith("WRK_JSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({process.returncode}):\n{text}")
    data = json.loads(line.removeprefix("WRK_JSON "))
    requests = int(data["requests"])
    errors = {k: int(data[k]) for k in ("connect", "read", "write", "status", "timeout") if data[k]}
    return Load(
        requests=requests,
        seconds=data["duration_us"] / 1e6,
        p50=data["p50_us"] / 1e6,
        p99=data["p99_us"] / 1e6,
        bytes_per_answer=data["bytes"] / requests if requests else 0.0,
        errors=errors,
    )


async def httpx_load(
    base_url: str, pages: Pages, token: str, inm: bool, clients: int, secs: float
) -> Load:
    """The same load from this process: ``clients`` tasks on one keep-alive connection each."""
    headers = {"Authorization": f"Bearer {token}"} if token != NO_TOKEN else {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    size = 0
    stop_at = time.monotonic() + secs

    async def loop(client: httpx.AsyncClient, offset: int) -> None:
        nonlocal size
        i = offset
        while time.monotonic() < stop_at:
            i = (i + 1) % len(pages.paths)
            extra = {"If-None-Match": pages.etags[i]} if inm else {}
            started = time.monotonic()
            try:
                r = await client.get(pages.paths[i], headers=extra)
            except httpx.TransportError as e:
                errors[type(e).__name__] = errors.get(type(e).__name__, 0) + 1
                continue
            finished = time.monotonic()
            if finished > stop_at:
                break
            if r.status_code >= 400:
                errors["status"] = errors.get("status", 0) + 1
            latencies.append(finished - started)
            size += len(r.content) + sum(len(k) + len(v) + 4 for k, v in r.headers.items())

    started = time.monotonic()
    async with httpx.AsyncClient(
        base_url=base_url, headers=headers, limits=limits, timeout=10
    ) as client:
        await asyncio.gather(*(loop(client, n * 7919) for n in range(clients)))
    latencies.sort()
    return Load(
        requests=len(latencies),
        seconds=min(secs, time.monotonic() - started),
        p50=percentile(latencies, 50),
        p99=percentile(latencies, 99),
        bytes_per_answer=size / len(latencies) if latencies else 0.0,
        errors=errors,
    )


def percentile(values: list[float], p: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


@dataclass
class Row:
    app: str  # "minga" or "bare"
    workers: int
    clients: int
    limit: int
    inm: bool
    load: Load
    cpu: CpuUse | None = None


@dataclass
class Plan:
    pages: dict[int, Pages]
    pages_files: dict[int, Path]
    script: Path
    token: str
    tool: str
    results: list[Row] = field(default_factory=list)


async def measure(
    args: argparse.Namespace,
    plan: Plan,
    server: Server,
    app: str,
    workers: int,
    clients: int,
    limit: int,
    inm: bool,
) -> Row:
    if args.quiet_wait > 0:
        await wait_quiet(args.quiet_wait)
    pages = plan.pages[limit]
    token = plan.token if app == "minga" else NO_TOKEN

    async def run(secs: float) -> Load:
        if plan.tool == "wrk":
            return await wrk_load(
                server.base_url, plan.pages_files[limit], plan.script, token, inm, clients, secs
            )
        return await httpx_load(server.base_url, pages, token, inm, clients, secs)

    row: Row | None = None
    for attempt in range(1 + args.retries):
        if args.warmup > 0:
            await run(args.warmup)
        start = time.monotonic()
        database = args.database if app == "minga" else None
        cpu = asyncio.create_task(
            cpu_between(
                server.process.pid, args.pg, database, start + 0.5, start + args.duration - 0.5
            )
        )
        load = await run(args.duration)
        candidate = Row(app, workers, clients, limit, inm, load, await cpu)
        busy = candidate.cpu.other if candidate.cpu else 0.0
        if row is None or busy < (row.cpu.other if row.cpu else 0.0):
            row = candidate
        if busy <= BUSY or attempt == args.retries:
            break
        print(f"  ({busy:.2f} CPUs used by other programs during the window: measuring again)")
        if args.quiet_wait > 0:
            await wait_quiet(args.quiet_wait)
    assert row is not None
    load = row.load
    print(
        f"  {app:5} {workers} worker(s) {clients:2} clients limit {limit:3}"
        f"{' If-None-Match' if inm else ''}: {load.per_second:8.1f} req/s, "
        f"p50 {load.p50 * 1000:6.1f} ms, p99 {load.p99 * 1000:6.1f} ms, "
        f"{load.bytes_per_answer / 1024:.1f} KiB/answer, errors {load.errors or 'none'}; "
        f"CPUs server/PG/generator/other {cpu_text(row.cpu)}"
    )
    if server.process.poll() is not None:
        raise RuntimeError(f"the {app} server stopped during the run:\n{server.log()}")
    return row


async def series(
    args: argparse.Namespace, plan: Plan, app: str, workers: int, database_url: str, tmp: Path
) -> None:
    log = tmp / f"{app}-{workers}w.log"
    if app == "minga":
        server = start_server(database_url, workers, log)
        ready = "/readyz"
    else:
        server = start_bare(workers, tmp, log)
        ready = "/api/v1/skus?limit=50"
    try:
        await wait_answering(server, ready)
        for clients in args.clients:
            plan.results.append(
                await measure(args, plan, server, app, workers, clients, 50, inm=False)
            )
        for limit in args.limits:
            if limit != 50:
                plan.results.append(
                    await measure(
                        args, plan, server, app, workers, max(args.clients), limit, inm=False
                    )
                )
        if app == "minga" and args.not_modified:
            plan.results.append(
                await measure(args, plan, server, app, workers, max(args.clients), 50, inm=True)
            )
    finally:
        server.stop()
    text = server.log()
    if "Traceback" in text or '"level": "ERROR"' in text:
        raise RuntimeError(f"the {app} server logged errors:\n{text}")


# --- the report -------------------------------------------------------------------------------


def cpu_text(cpu: CpuUse | None) -> str:
    if cpu is None:
        return "n/a"
    server = f"{cpu.server:.2f}"
    if len(cpu.workers) > 1:
        server += " (" + " + ".join(f"{w:.2f}" for w in cpu.workers) + ")"
    return f"{server} / {cpu.database:.2f} / {cpu.generator:.2f} / {cpu.other:.2f}"


def table(rows: list[Row]) -> str:
    lines = [
        "| app | uvicorn workers | clients | limit | If-None-Match | requests/s | p50 (ms) "
        "| p99 (ms) | bytes/answer (with headers) | errors "
        "| CPUs used: server (per worker) / PostgreSQL / load generator / other programs |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for r in rows:
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(r.load.errors.items())) or "none"
        lines.append(
            f"| {'Minga' if r.app == 'minga' else 'bare'} | {r.workers} | {r.clients} "
            f"| {r.limit} | {'yes (304)' if r.inm else 'no'} | {r.load.per_second:.1f} "
            f"| {r.load.p50 * 1000:.1f} | {r.load.p99 * 1000:.1f} "
            f"| {r.load.bytes_per_answer:,.0f} | {errors} | {cpu_text(r.cpu)} |"
        )
    return "\n".join(lines)


def find(rows: list[Row], app: str, workers: int, clients: int, limit: int) -> Row | None:
    for r in rows:
        if (r.app, r.workers, r.clients, r.limit, r.inm) == (app, workers, clients, limit, False):
            return r
    return None


def verdicts(rows: list[Row], workers: list[int], clients: int, limits: list[int]) -> str:
    lines = [
        f"| uvicorn workers | limit | Minga requests/s | bare requests/s | Minga / bare "
        f"| target ≥ {TARGET:.0%} at {clients} clients |",
        "| ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for w in workers:
        for limit in limits:
            minga, bare = (
                find(rows, "minga", w, clients, limit),
                find(rows, "bare", w, clients, limit),
            )
            if minga is None or bare is None:
                continue
            ratio = minga.load.per_second / bare.load.per_second
            verdict = "holds" if ratio >= TARGET else "**missed**"
            if limit != 50:
                verdict += " (limit 50 is the target's page)"
            lines.append(
                f"| {w} | {limit} | {minga.load.per_second:.1f} | {bare.load.per_second:.1f} "
                f"| {ratio:.1%} | {verdict} |"
            )
    return "\n".join(lines)


def chart(rows: list[Row], workers: list[int], clients: list[int], path: Path, note: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(workers), figsize=(5.6 * len(workers), 4.6), squeeze=False)
    plotted = [r.load.per_second for r in rows if r.limit == 50 and not r.inm and r.load.requests]
    lowest, highest = min(plotted, default=1.0), max(plotted, default=1.0)
    for ax, w in zip(axes[0], sorted(workers), strict=True):
        series_of: dict[str, tuple[list[int], list[float]]] = {}
        for app in ("bare", "minga"):
            found = [(c, find(rows, app, w, c, 50)) for c in clients]
            series_of[app] = (
                [c for c, r in found if r is not None],
                [r.load.per_second for _, r in found if r is not None],
            )
        xs, ys = series_of["bare"]
        ax.plot(xs, ys, "s--", color="tab:blue", label="bare FastAPI, constant page")
        ax.plot(xs, [y * TARGET for y in ys], ":", color="tab:green", label="target: 40% of bare")
        for x, y in zip(xs, ys, strict=True):
            ax.annotate(
                f"{y:,.0f}",
                (x, y),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=8,
                color="tab:blue",
            )
        xs, ys = series_of["minga"]
        ax.plot(xs, ys, "o-", color="tab:orange", label="Minga GET /api/v1/skus")
        for x, y in zip(xs, ys, strict=True):
            bare = find(rows, "bare", w, x, 50)
            ratio = f" ({y / bare.load.per_second:.1%})" if bare else ""
            ax.annotate(
                f"{y:,.0f}{ratio}",
                (x, y),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=8,
                color="tab:orange",
            )
        ax.set_xscale("log", base=2)
        ax.set_xticks(clients, [str(c) for c in clients])
        ax.set_xlim(min(clients) / 1.6, max(clients) * 1.6)
        ax.set_yscale("log")
        ax.set_ylim(lowest / 3, highest * 3)
        ax.set_xlabel("concurrent clients (keep-alive connections)")
        ax.set_ylabel("requests/s (log scale)")
        ax.set_title(
            f"{w} uvicorn worker{'s' if w > 1 else ''}, limit=50 (Minga / bare)", fontsize=10
        )
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="center", fontsize=8)
    fig.suptitle(
        f"GET /api/v1/skus, 2,000 SKUs: Minga vs a bare FastAPI endpoint\n{note}", fontsize=9
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save_rows(path: Path, rows: list[Row], note: str) -> None:
    path.write_text(json.dumps({"note": note, "rows": [asdict(r) for r in rows]}, indent=1))


def load_rows(path: Path) -> tuple[list[Row], str]:
    data = json.loads(path.read_text())
    rows = []
    for r in data["rows"]:
        cpu = r.pop("cpu")
        load = Load(**r.pop("load"))
        rows.append(
            Row(
                **r,
                load=load,
                cpu=CpuUse(**{**cpu, "workers": tuple(cpu["workers"])}) if cpu else None,
            )
        )
    return rows, str(data["note"])


def code_version() -> str:
    """The commit measured, and whether app/ had uncommitted changes (the tree is shared)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=PROJECT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "app", "migrations"],  # noqa: S607
            cwd=PROJECT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown commit"
    return f"commit {head}" + (" with uncommitted changes in app/" if dirty else "")


def write_doc(path: Path, block: str) -> None:
    text = path.read_text() if path.exists() else ""
    if DOC_BEGIN in text and DOC_END in text:
        head, rest = text.split(DOC_BEGIN, 1)
        _, tail = rest.split(DOC_END, 1)
        text = f"{head}{DOC_BEGIN}\n{block}\n{DOC_END}{tail}"
    else:
        text = f"{text.rstrip()}\n\n{DOC_BEGIN}\n{block}\n{DOC_END}\n".lstrip()
    path.write_text(text)


# --- the run ----------------------------------------------------------------------------------


async def prepare(args: argparse.Namespace, database_url: str, tmp: Path) -> Plan:
    await recreate_database(args.pg, args.database)
    await asyncio.to_thread(migrate.upgrade, database_url)
    await asyncio.to_thread(create_admin, database_url)
    server = start_server(database_url, max(args.workers), tmp / "build.log")
    try:
        await wait_answering(server, "/readyz")
        async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
            started = time.monotonic()
            catalogue = await build_catalogue(
                client,
                skus=args.skus,
                associations=args.associations,
                parallel=args.parallel,
                pg=args.pg,
                database=args.database,
                suppliers_via_api=args.suppliers_via_api,
            )
            print(f"  catalogue built in {time.monotonic() - started:.1f} s")
            pages = {}
            for limit in sorted({50, *args.limits}):
                pages[limit] = await walk_pages(client, catalogue.buyer, limit)
                total = sum(len(json.loads(p)["items"]) for p in [pages[limit].first_body])
                print(
                    f"  limit {limit}: {len(pages[limit].paths)} pages, first page {total} SKUs, "
                    f"{len(pages[limit].first_body):,} bytes (pages "
                    f"{min(pages[limit].sizes):,}-{max(pages[limit].sizes):,} bytes)"
                )
            first = json.loads(pages[50].first_body)["items"][0]
            if len(first["suppliers"]) != args.associations:
                raise RuntimeError(f"a SKU lists {len(first['suppliers'])} suppliers")
    finally:
        server.stop()
    files: dict[int, Path] = {}
    for limit, p in pages.items():
        (tmp / f"skus-limit-{limit}.json").write_bytes(p.first_body)
        files[limit] = tmp / f"pages-{limit}.tsv"
        files[limit].write_text(
            "".join(f"{path}\t{etag}\n" for path, etag in zip(p.paths, p.etags, strict=True))
        )
    script = tmp / "catalog.lua"
    script.write_text(WRK_SCRIPT)
    token = catalogue.buyer["Authorization"].removeprefix("Bearer ")
    tool = args.tool if args.tool != "auto" else ("wrk" if shutil.which("wrk") else "httpx")
    return Plan(pages, files, script, token, tool)


async def main(args: argparse.Namespace) -> int:
    if args.chart_from:
        rows, note = load_rows(args.chart_from)
        workers = sorted({r.workers for r in rows})
        clients = sorted({r.clients for r in rows})
        chart(rows, workers, clients, args.chart or Path("benchmarks-scaling.png"), note)
        return 0
    version = (await server_version(args.pg)).split(" on ")[0]
    python = sys.version.split()[0]
    code = code_version()
    print(f"{version}; Python {python}; {os.cpu_count()} CPUs; {code}")
    database_url = f"postgresql+asyncpg://{args.pg.split('://', 1)[1].rstrip('/')}/{args.database}"
    with tempfile.TemporaryDirectory(prefix="minga-bench-catalog-") as name:
        tmp = Path(name)
        try:
            print(f"building {args.skus} SKUs, {args.associations} supplying associations")
            plan = await prepare(args, database_url, tmp)
            print(
                f"load generator: {plan.tool}; {args.warmup:g} s warm-up + {args.duration:g} s "
                "measured per row"
            )
            for workers in args.workers:
                for app in ("minga", "bare"):
                    await series(args, plan, app, workers, database_url, tmp)
        finally:
            if not args.keep_database:
                await drop_database(args.pg, args.database)
    rows = plan.results
    report = table(rows)
    summary = verdicts(rows, args.workers, max(args.clients), sorted({50, *args.limits}))
    print()
    print(report)
    print()
    print(summary)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    machine = f"{os.cpu_count()} CPUs, Python {python}, {version}"
    note = f"{stamp}; {os.cpu_count()} CPUs; Python {python}; {' '.join(version.split()[:2])}"
    note += f"; load: {plan.tool}; {code}"
    if args.results:
        save_rows(args.results, rows, note)
    if args.chart:
        chart(rows, args.workers, args.clients, args.chart, note)
        print(f"\nchart written to {args.chart}")
    if args.doc:
        block = (
            f"Measured {stamp} on {code}; {machine}; {args.skus} SKUs with "
            f"{args.associations} suppliers each; load generator `{plan.tool}`; "
            f"{args.warmup:g} s warm-up + "
            f"{args.duration:g} s measured per row.\n\n{report}\n\n{summary}"
        )
        write_doc(args.doc, block)
        print(f"written to {args.doc}")
    failed = any(r.load.errors for r in rows)
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--duration", type=float, default=15, help="measured seconds per row")
    parser.add_argument("--warmup", type=float, default=3, help="seconds before each row")
    parser.add_argument(
        "--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrent clients"
    )
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="uvicorn workers")
    parser.add_argument(
        "--limits",
        type=int,
        nargs="+",
        default=[50, 200],
        help="page sizes (others than 50 at the most clients only)",
    )
    parser.add_argument("--skus", type=int, default=2000)
    parser.add_argument("--associations", type=int, default=3, help="suppliers of every SKU")
    parser.add_argument("--parallel", type=int, default=16, help="requests at once while building")
    parser.add_argument(
        "--suppliers-via-api",
        action="store_true",
        help="approve every supplier through the API (slow) instead of copying one approval",
    )
    parser.add_argument(
        "--no-not-modified",
        dest="not_modified",
        action="store_false",
        help="skip the If-None-Match (304) row",
    )
    parser.add_argument("--tool", choices=["auto", "wrk", "httpx"], default="auto")
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server (no database name); a database is created and dropped on it",
    )
    parser.add_argument("--database", default="minga_bench_catalog")
    parser.add_argument("--keep-database", action="store_true", help="do not drop it at the end")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=60,
        help="before each row, wait up to this many seconds for other programs to leave the "
        "CPUs idle (0: do not wait)",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=1,
        help=f"measure a row again (keeping the quietest) when other programs used more than "
        f"{BUSY} CPUs during its window",
    )
    parser.add_argument("--doc", type=Path, help="markdown file whose bench-catalog block is set")
    parser.add_argument(
        "--chart",
        type=Path,
        help="PNG chart of requests/s (needs matplotlib)",
    )
    parser.add_argument("--results", type=Path, help="JSON file for the measured rows")
    parser.add_argument(
        "--chart-from", type=Path, help="only redraw --chart from an earlier run's --results"
    )
    args = parser.parse_args(argv)
    if min(args.clients) < 1 or min(args.workers) < 1 or args.duration <= 1 or args.warmup < 0:
        parser.error("--clients, --workers >= 1, --duration > 1, --warmup >= 0")
    if any(not 1 <= limit <= 200 for limit in args.limits):
        parser.error("--limits between 1 and 200")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))

"""CPU per page of ``GET /api/v1/skus``: Minga next to its floor, interleaved, at two
catalogue sizes and in three ways of reading.

For each catalogue size:

1. drops and recreates a PostgreSQL database and migrates it;
2. starts two servers on it, each one uvicorn worker: Minga (``app.asgi:app``) and the floor
   (``bench.floor:app``; ``bench/floor_catalog.py`` says what it does);
3. builds the market through Minga's API (a network that shows its catalogue to anyone, an
   association supplying one SKU with a published sheet, buyers with staff logins, an open
   cycle) and clones the SKU in SQL up to the size (``bench.orders.clone_skus``);
4. walks the first ``--pages`` pages (``limit`` 50) to learn their cursors, and checks that
   Minga and the floor answer the same JSON for every page in every way of reading;
5. for each way of reading, alternates short windows on Minga and on the floor (a warm-up
   window each first, which also fills the caches): ``--clients`` buyers ask for the pages in
   turn, as fast as the server answers —

   - *cached*: a buyer's page (bearer token), served from the worker's page cache;
   - *anonymous*: the same pages without credentials (the public shop window);
   - *built*: a buyer's page with ``cycle_id`` (the cycle's prices and availability), which
     is built on every request;

6. reads the CPU time of the server process and of the database's PostgreSQL backends from
   ``/proc`` at both ends of each window (CPU per page holds on a busy machine, where req/s
   does not; other programs' load is reported next to the figures).

Every request says ``Accept-Encoding: identity``: the floor does not compress, and compressing
is a choice of the client's. Exits 1 on an answer that is not a 200, a difference between the
two servers' pages or an error in a server log. Run from the project folder (``--doc``
rewrites the results block of a markdown file and draws the chart next to it)::

    .venv/bin/python -m bench.catalog --skus 2000 20000 --doc docs/bench-catalog.md

All traffic stays on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from app.core import migrate
from bench.orders import (
    TICK,
    Builder,
    Market,
    clone_skus,
    cpu_between,
    cpu_now,
    drop_database,
    expect,
    recreate_database,
    server_version,
    start_uvicorn,
    wait_answering,
    wait_quiet,
    write_doc,
)

DOC_BEGIN = "<!-- bench-catalog:begin -->"
DOC_END = "<!-- bench-catalog:end -->"
MODES = ("cached", "anonymous", "built")
# the targets of issue 13: Minga's server CPU per page over the floor's, a cached page (with
# or without credentials) against the authenticated floor's cached page, a built page against
# the floor's built page
TARGETS = {"cached": 1.5, "anonymous": 1.5, "built": 3.0}
TARGET_FLOOR = {"cached": "cached", "anonymous": "cached", "built": "built"}
IDENTITY = {"Accept-Encoding": "identity"}


@dataclass
class Series:
    """One server's measured windows for one way of reading at one size."""

    server: str
    seconds: float = 0.0
    cpu_server: int = 0
    cpu_database: int = 0
    cpu_machine: int = 0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return len(self.latencies)

    @property
    def per_second(self) -> float:
        return self.pages / self.seconds if self.seconds else float("nan")

    def ms_per_page(self, jiffies: int) -> float:
        return jiffies / TICK * 1000 / self.pages if self.pages else float("nan")

    @property
    def server_ms(self) -> float:
        return self.ms_per_page(self.cpu_server)

    @property
    def database_ms(self) -> float:
        return self.ms_per_page(self.cpu_database)

    @property
    def others_cpus(self) -> float:
        rest = self.cpu_machine - self.cpu_server - self.cpu_database
        return rest / TICK / self.seconds if self.seconds else float("nan")

    def percentile(self, p: int) -> float:
        latencies = sorted(self.latencies)
        if len(latencies) < 2:
            return latencies[0] if latencies else float("nan")
        return statistics.quantiles(latencies, n=100, method="inclusive")[p - 1]


@dataclass
class Reading:
    skus: int
    mode: str
    minga: Series
    floor: Series

    @property
    def ratio(self) -> float:
        return self.minga.server_ms / self.floor.server_ms

    @property
    def ratio_with_database(self) -> float:
        return (self.minga.server_ms + self.minga.database_ms) / (
            self.floor.server_ms + self.floor.database_ms
        )


@dataclass
class Size:
    skus: int
    readings: list[Reading] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)

    def reading(self, mode: str) -> Reading | None:
        return next((g for g in self.readings if g.mode == mode), None)

    def target_ratio(self, g: Reading) -> float:
        """Minga's server CPU per page over the floor's the target names (this reading's
        floor when that one was not measured)."""
        floor = (self.reading(TARGET_FLOOR[g.mode]) or g).floor
        return g.minga.server_ms / floor.server_ms

    def holds(self, g: Reading) -> bool:
        return self.target_ratio(g) <= TARGETS[g.mode]


def requests_of(
    mode: str, market: Market, cursors: list[str | None]
) -> list[tuple[dict[str, str], dict[str, str]]]:
    """(params, headers) of every page a client asks for in this way of reading."""
    out = []
    for i, cursor in enumerate(cursors):
        params = {"limit": "50"}
        if cursor:
            params["cursor"] = cursor
        _, login = market.buyers[i % len(market.buyers)]
        if mode == "cached":
            out.append((params, {**IDENTITY, **login}))
        elif mode == "anonymous":
            out.append((params, dict(IDENTITY)))
        else:
            out.append(({**params, "cycle_id": market.cycle_id}, {**IDENTITY, **login}))
    return out


async def client_loop(
    client: httpx.AsyncClient,
    asks: list[tuple[dict[str, str], dict[str, str]]],
    start: int,
    stop_at: float,
    series: Series | None,
) -> None:
    i = start
    while time.monotonic() < stop_at:
        params, headers = asks[i % len(asks)]
        i += 1
        began = time.monotonic()
        try:
            r = await client.get("/api/v1/skus", params=params, headers=headers)
        except httpx.TransportError as e:
            if series is not None:
                series.failures.append(str(e))
            continue
        if series is None:
            continue
        if r.status_code != 200:
            series.failures.append(f"{r.status_code}: {r.text[:300]}")
            continue
        series.latencies.append(time.monotonic() - began)


async def walk(client: httpx.AsyncClient, headers: dict[str, str], pages: int) -> list[str | None]:
    cursors: list[str | None] = [None]
    while len(cursors) < pages:
        params = {"limit": "50"}
        if cursors[-1]:
            params["cursor"] = str(cursors[-1])
        page = expect(await client.get("/api/v1/skus", params=params, headers=headers), 200)
        if not page["next_cursor"]:
            break
        cursors.append(page["next_cursor"])
    return cursors


async def compare(
    minga: httpx.AsyncClient, floor: httpx.AsyncClient, asks: list[Any], mode: str
) -> list[str]:
    """Where the floor's pages differ from Minga's (it must do the same work)."""
    differences = []
    for params, headers in asks:
        a = await minga.get("/api/v1/skus", params=params, headers=headers)
        b = await floor.get("/api/v1/skus", params=params, headers=headers)
        if a.status_code != 200 or b.status_code != 200:
            differences.append(f"{mode}: answered {a.status_code} and {b.status_code}")
        elif a.json() != b.json():
            differences.append(f"{mode} {params}: the floor's page differs from Minga's")
    return differences


async def run_size(args: argparse.Namespace, skus: int, log_dir: Path) -> Size:
    database = f"{args.database}_{skus}"
    base = args.pg.split("://", 1)[1].rstrip("/")
    database_url = f"postgresql+asyncpg://{base}/{database}"
    await recreate_database(args.pg, database)
    await asyncio.to_thread(migrate.upgrade, database_url)
    minga = start_uvicorn("app.asgi:app", database_url, log_dir / f"minga-{skus}.log")
    floor = start_uvicorn("bench.floor:app", database_url, log_dir / f"floor-{skus}.log")
    servers = {"minga": minga, "floor": floor}
    size = Size(skus)
    try:
        await wait_answering(minga, "/readyz")
        await wait_answering(floor, "/")
        async with httpx.AsyncClient(base_url=minga.base_url, timeout=60) as client:
            builder = Builder(client, random.Random(2026))  # noqa: S311 - test data
            market = await builder.build(
                associations=1, skus=1, buyers=args.clients, offer_per_association=Decimal(1000)
            )
            r = await client.put(
                f"/api/v1/networks/{market.network_id}/public-catalogue",
                json={"public_catalogue": True},
                headers=market.admin,
            )
            expect(r, 200)
            await clone_skus(f"postgresql://{base}/{database}", market, skus)
            cursors = await walk(client, market.buyers[0][1], args.pages)
            print(f"  market: {len(market.sku_ids)} SKUs; {len(cursors)} pages of 50 read")
        limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
        clients = {
            name: httpx.AsyncClient(base_url=s.base_url, timeout=30, limits=limits)
            for name, s in servers.items()
        }
        try:
            for mode in MODES:
                asks = requests_of(mode, market, cursors)
                size.differences += await compare(clients["minga"], clients["floor"], asks, mode)
            if args.quiet_wait > 0:
                await wait_quiet(args.quiet_wait)
            for mode in args.modes:
                asks = requests_of(mode, market, cursors)
                reading = Reading(skus, mode, Series("minga"), Series("floor"))
                order = ["minga", "floor"]
                for window in range(-1, args.windows):
                    for name in order if window % 2 else order[::-1]:
                        series = getattr(reading, name)
                        pid = servers[name].process.pid
                        first = await cpu_now(pid, args.pg, database)
                        start = time.monotonic()
                        measured = series if window >= 0 else None
                        await asyncio.gather(
                            *(
                                client_loop(
                                    clients[name],
                                    asks,
                                    c * len(asks) // args.clients,
                                    start + args.window,
                                    measured,
                                )
                                for c in range(args.clients)
                            )
                        )
                        elapsed = time.monotonic() - start
                        last = await cpu_now(pid, args.pg, database)
                        if measured is None:
                            continue  # the warm-up
                        cpu = cpu_between(first, last)
                        series.seconds += elapsed
                        series.cpu_server += cpu.server
                        series.cpu_database += cpu.database
                        series.cpu_machine += cpu.machine
                size.readings.append(reading)
                print(
                    f"  {mode}: minga {reading.minga.server_ms:.2f} ms + PostgreSQL "
                    f"{reading.minga.database_ms:.2f} ms, floor {reading.floor.server_ms:.2f} ms "
                    f"+ {reading.floor.database_ms:.2f} ms CPU per page; ratio {reading.ratio:.2f}"
                )
        finally:
            for c in clients.values():
                await c.aclose()
    finally:
        for s in servers.values():
            s.stop()
        await drop_database(args.pg, database)
    for name, s in servers.items():
        log = s.log()
        if "Traceback" in log or '"level": "ERROR"' in log:
            size.server_errors.append(f"{name}: {log[-4000:]}")
    return size


def table(sizes: list[Size]) -> str:
    rows = [
        "| SKUs | reading | server | pages | pages/s | p50 / p95 / p99 (ms) "
        "| server CPU per page (ms) | PostgreSQL CPU per page (ms) "
        "| server CPU ratio to the floor | server + PostgreSQL ratio | target "
        "| other programs (CPUs in use) |",
        "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for z in sizes:
        for g in z.readings:
            for s in (g.minga, g.floor):
                mine = s is g.minga
                ratio = f"**{g.ratio:.2f}x**" if mine else "1"
                ratio_db = f"{g.ratio_with_database:.2f}x" if mine else "1"
                target = ""
                if mine:
                    against = TARGET_FLOOR[g.mode]
                    if z.reading(against) is None:
                        against = g.mode
                    target = (
                        f"{z.target_ratio(g):.2f}x the floor's {against} page, "
                        f"<= {TARGETS[g.mode]:g}x: {'yes' if z.holds(g) else 'NO'}"
                    )
                rows.append(
                    f"| {z.skus:,} | {g.mode} | {s.server} | {s.pages} | {s.per_second:.0f} "
                    f"| {s.percentile(50) * 1000:.1f} / {s.percentile(95) * 1000:.1f} / "
                    f"{s.percentile(99) * 1000:.1f} | {s.server_ms:.2f} | {s.database_ms:.2f} "
                    f"| {ratio} | {ratio_db} | {target} | {s.others_cpus:.2f} |"
                )
    return "\n".join(rows)


def chart(sizes: list[Size], path: Path) -> None:
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [z.skus for z in sizes]
    fig, ax = plt.subplots(figsize=(7.5, 4.4), dpi=110)
    for mode, colour in zip(MODES, ("tab:blue", "tab:green", "tab:red"), strict=True):
        readings = [z.reading(mode) for z in sizes]
        if any(g is None for g in readings):
            continue
        for name, style in (("minga", "-o"), ("floor", "--s")):
            ys = [getattr(g, name).server_ms for g in readings if g is not None]
            ax.plot(xs, ys, style, color=colour, label=f"{mode}: {name}")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs, [f"{x:,}" for x in xs])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("SKUs in the catalogue (pages of 50)")
    ax.set_ylabel("server CPU per page (ms)")
    ax.set_title("GET /skus: CPU per page, Minga and its floor (1 uvicorn worker)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, ncol=3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


async def main(args: argparse.Namespace) -> int:
    version = await server_version(args.pg)
    print(f"PostgreSQL: {version}")
    print(f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    sizes = []
    with tempfile.TemporaryDirectory(prefix="minga-bench-") as tmp:
        for skus in args.skus:
            print(
                f"size: {skus} SKUs; {args.windows} windows of {args.window:g} s per server and "
                f"way of reading, interleaved, {args.clients} clients"
            )
            z = await run_size(args, skus, Path(tmp))
            sizes.append(z)
            for problem in z.differences:
                print(f"  DIFFERENT: {problem}")
            for log in z.server_errors:
                print(f"  server log with errors:\n{log}")
    report = table(sizes)
    print()
    print(report)
    failures = [
        f for z in sizes for g in z.readings for s in (g.minga, g.floor) for f in s.failures
    ]
    for failure in failures[:10]:
        print(f"failed request: {failure}")
    if args.doc:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        png = args.doc.with_suffix(".png")
        chart(sizes, png)
        load = statistics.fmean(
            s.others_cpus for z in sizes for g in z.readings for s in (g.minga, g.floor)
        )
        block = (
            f"Measured {stamp}; {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
            f"{version.split(' on ')[0]}; one uvicorn worker each; {args.clients} clients over "
            f"{args.pages} pages of 50; {args.windows} windows of {args.window:g} s per server "
            f"and way of reading, interleaved. Other programs used {load:.2f} CPUs on average "
            f"meanwhile (the load generator among them).\n\n{report}\n\n"
            f"![CPU per page against catalogue size]({png.name})"
        )
        write_doc(args.doc, block, DOC_BEGIN, DOC_END)
        print(f"\nwritten to {args.doc} and {png}")
    failed = failures or any(z.differences or z.server_errors for z in sizes)
    return 1 if failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--skus", type=int, nargs="+", default=[2000, 20000])
    parser.add_argument("--clients", type=int, default=4, help="concurrent buyers")
    parser.add_argument(
        "--modes", nargs="+", choices=MODES, default=list(MODES), help="ways of reading"
    )
    parser.add_argument("--pages", type=int, default=20, help="pages of 50 the clients read")
    parser.add_argument("--windows", type=int, default=4, help="measured windows per server")
    parser.add_argument("--window", type=float, default=3, help="seconds per window")
    parser.add_argument(
        "--pg",
        default="postgresql://postgres@127.0.0.1:5432",
        help="PostgreSQL server (no database name); databases are created and dropped on it",
    )
    parser.add_argument("--database", default="h_catalog_bench")
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=0,
        help="before each size, wait up to this many seconds for the CPUs to be nearly idle",
    )
    parser.add_argument(
        "--doc", type=Path, help="markdown file whose bench-catalog block gets the results"
    )
    args = parser.parse_args(argv)
    if args.clients < 1 or min(args.skus) < 2 or args.window <= 0 or args.windows < 1:
        parser.error("--clients >= 1, --skus >= 2, --window > 0, --windows >= 1")
    return args


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))

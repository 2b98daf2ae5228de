"""Benchmark: closing an order cycle of N lines on PostgreSQL.

A network of 300 associations sells 500 brand SKUs; each SKU is offered by 5 to 20
associations, and a few hundred buyers have placed N order lines (about 10 per order, some
pinned to an association). The benchmark times ``aggregation.service.close_cycle`` plus the
commit, the way the close endpoint and the scheduler run it, and the peak memory of the
process that does it.

Every run happens in fresh processes, so that ``ru_maxrss`` is the peak of that run alone:
one process seeds a new database (dropped and recreated, migrated, bulk-inserted with
SQLAlchemy Core), another one closes the cycle and reports JSON; the parent gathers them,
prints a table and refreshes the results block of ``docs/bench-close-cycle.md``.

    .venv/bin/python -m bench.close_cycle --lines 10000 50000 100000

The data are drawn from a fixed seed, ids included, so two runs with the same N and policy
produce the same allocations and totals (the ``digest`` column): a faster ``close_cycle``
must keep it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import itertools
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from app.accounts.models import NetworkAssociation, Organization
from app.aggregation.models import Allocation, DeliveryOrder, DeliveryOrderLine
from app.brands import pricing
from app.brands.models import Brand, BrandSku, SkuPriceTier, SkuSupplier
from app.catalog.models import Category, Product
from app.core.money import cents_times
from app.orders.models import CycleSku, Offer, Order, OrderCycle, OrderLine

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/minga_bench_close"
DOC = Path(__file__).resolve().parents[1] / "docs" / "bench-close-cycle.md"
SEED = 20_240_611
ASSOCIATIONS = 300
SKUS = 500
BUYERS = 300
START, END = "<!-- results:start -->", "<!-- results:end -->"
CHART = DOC.with_suffix(".png")
COPY_CHUNK = 50_000  # order lines per COPY


def _t(model: Any) -> Any:
    return model.__table__


# --------------------------------------------------------------------------- the data


class _Ids:
    """Deterministic UUID-shaped ids: the same seed gives the same ids, so the same ties."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def __call__(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))


def _org(ids: _Ids, kind: str, n: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": ids(),
        "kind": kind,
        "name": f"{kind} {n}",
        "tax_id": f"{kind[:2]}{n:011d}",
        "country": "EC",
        "province": "Cotopaxi",
        "canton": "Latacunga",
        "parish": "Poaló",
        "latitude": -0.93,
        "longitude": -78.61,
        "buyer_type": None,
        "currency": None,
        "timezone": None,
        "members_total": None,
        "members_women": None,
        "payment_terms_days": None,
        "created_at": datetime(2025, 1, 1, tzinfo=UTC),
        **extra,
    }


async def seed(conn: AsyncConnection, lines: int, policy: str) -> dict[str, Any]:
    """Insert the network, its catalogue and an open cycle with ``lines`` order lines."""
    rng = random.Random(SEED)  # noqa: S311 - reproducible data, not secrets
    ids = _Ids(random.Random(SEED + 1))  # noqa: S311
    now = datetime(2025, 6, 1, 12, tzinfo=UTC)

    network = _org(ids, "network", 0, currency="USD", timezone="America/Guayaquil")
    centre = _org(ids, "collection_centre", 0)
    associations = [_org(ids, "association", i) for i in range(ASSOCIATIONS)]
    buyers = [_org(ids, "buyer", i, buyer_type="restaurant") for i in range(BUYERS)]
    await conn.execute(insert(_t(Organization)), [network, centre, *associations, *buyers])
    await conn.execute(
        insert(_t(NetworkAssociation)),
        [
            {"id": ids(), "network_id": network["id"], "association_id": a["id"], "created_at": now}
            for a in associations
        ],
    )
    brand = {
        "id": ids(),
        "network_id": network["id"],
        "name": "Sabores de Cotopaxi",
        "slug": "sabores-de-cotopaxi",
        "story": "",
        "territory_provinces": [],
        "territory_cantons": [],
        "required_certifications": [],
        "allowed_categories": [],
        "sanitary_registration_required_for": [],
        "created_at": now,
        "updated_at": now,
    }
    await conn.execute(insert(_t(Brand)), [brand])
    categories = sorted((await conn.execute(select(_t(Category).c.slug))).scalars())

    # 500 SKUs, each with three volume tiers (never below the producer price)
    skus: list[dict[str, Any]] = []
    tiers: dict[str, list[pricing.Tier]] = {}
    tier_rows: list[dict[str, Any]] = []
    per_sku = Decimal(lines) / SKUS * Decimal("6.5")  # lines per SKU times the mean packs per line
    for i in range(SKUS):
        pack = rng.choice([Decimal(1), Decimal(1), Decimal("0.5"), Decimal("0.25"), Decimal(2)])
        producer = rng.randint(80, 2500)
        sku = {
            "id": ids(),
            "brand_id": brand["id"],
            "name": f"SKU {i}",
            "category": rng.choice(categories),
            "unit": "kg",
            "pack_size": pack,
            "unit_weight_kg": None,
            "gtin": None,
            "producer_price_cents": producer,
            "solidarity_fund_bps": 100,
            "logistics_share_bps": 5000,
            "search_text": f"sku {i}",
            "created_at": now,
            "updated_at": now,
        }
        skus.append(sku)
        tiers[sku["id"]] = [
            pricing.Tier(Decimal(0), producer * 160 // 100),
            pricing.Tier((per_sku * pack / 3).quantize(pack), producer * 145 // 100),
            pricing.Tier((per_sku * pack * Decimal("0.9")).quantize(pack), producer * 130 // 100),
        ]
        tier_rows += [
            {"id": ids(), "sku_id": sku["id"], "min_quantity": t.min_quantity,
             "unit_price_cents": t.unit_price_cents}
            for t in tiers[sku["id"]]
        ]  # fmt: skip
    await conn.execute(insert(_t(BrandSku)), skus)
    await conn.execute(insert(_t(SkuPriceTier)), tier_rows)

    # each SKU supplied by 5 to 20 associations, one published sheet each
    suppliers: dict[str, list[dict[str, Any]]] = {}
    products: list[dict[str, Any]] = []
    for sku in skus:
        suppliers[sku["id"]] = []
        for association in rng.sample(associations, rng.randint(5, 20)):
            product = {
                "id": ids(),
                "association_id": association["id"],
                "name": f"{sku['name']} of {association['name']}",
                "category": sku["category"],
                "description": "",
                "story": "",
                "unit": "kg",
                "pack_size": sku["pack_size"],
                "variable_weight": False,
                "shelf_life_days": 10,
                "storage": "chilled",
                "allergens": [],
                "gtin": None,
                "sanitary_authority": None,
                "sanitary_number": None,
                "sanitary_expires_on": None,
                "origin_parish": "Poaló",
                "origin_canton": "Latacunga",
                "origin_province": "Cotopaxi",
                "origin_latitude": -0.93,
                "origin_longitude": -78.61,
                "origin_parish_key": "poalo",
                "status": "published",
                "version": 1,
                "search_text": "",
                "created_at": now,
                "updated_at": now,
                "published_at": now,
            }
            products.append(product)
            suppliers[sku["id"]].append(
                {
                    "id": ids(),
                    "sku_id": sku["id"],
                    "product_id": product["id"],
                    "association_id": association["id"],
                    "product_version": 1,
                    "status": "approved",
                    "approved_at": now,
                    "withdrawn_at": None,
                }
            )
    await conn.execute(insert(_t(Product)), products)
    await conn.execute(insert(_t(SkuSupplier)), [s for ss in suppliers.values() for s in ss])

    cycle = {
        "id": ids(),
        "network_id": network["id"],
        "collection_centre_id": centre["id"],
        "opens_at": now - timedelta(days=3),
        "closes_at": now + timedelta(days=1),
        "delivery_date": date(2025, 6, 4),
        "timezone": "America/Guayaquil",
        "currency": "USD",
        "allocation_policy": policy,
        "status": "open",
        "created_at": now - timedelta(days=4),
        "opened_at": now - timedelta(days=3),
        "closed_at": None,
    }
    # last week's cycle, closed: the season's income that income_equalizing evens out
    previous = {
        **cycle,
        "id": ids(),
        "opens_at": now - timedelta(days=10),
        "closes_at": now - timedelta(days=6),
        "delivery_date": date(2025, 5, 28),
        "status": "closed",
        "closed_at": now - timedelta(days=6),
    }
    await conn.execute(insert(_t(OrderCycle)), [previous, cycle])
    past_offers, past_allocations = [], []
    for sku in skus:
        for supplier in suppliers[sku["id"]]:
            quantity = sku["pack_size"] * rng.randint(0, 40)
            offer = {
                "id": ids(),
                "cycle_id": previous["id"],
                "sku_id": sku["id"],
                "association_id": supplier["association_id"],
                "supplier_id": supplier["id"],
                "quantity": quantity + sku["pack_size"] * 5,
                "min_delivery": Decimal(0),
                "created_at": now,
                "updated_at": now,
            }
            past_offers.append(offer)
            if quantity:
                past_allocations.append(
                    {
                        "id": ids(),
                        "cycle_id": previous["id"],
                        "sku_id": sku["id"],
                        "association_id": supplier["association_id"],
                        "offer_id": offer["id"],
                        "quantity": quantity,
                        "pinned": Decimal(0),
                        "producer_price_cents": sku["producer_price_cents"],
                        "product_id": supplier["product_id"],
                        "product_version": 1,
                        "minimum_waived": False,
                        "created_at": now,
                    }
                )
    await conn.execute(insert(_t(Offer)), past_offers)
    await conn.execute(insert(_t(Allocation)), past_allocations)

    # orders of 2 to 18 lines, priced at the tier the volume had reached when placed; they
    # are copied in chunks as they are drawn, so that a million lines never sit in memory
    order_columns = [c.name for c in _t(Order).columns]
    line_columns = [c.name for c in _t(OrderLine).columns]
    order_rows: list[tuple[Any, ...]] = []
    line_rows: list[tuple[Any, ...]] = []
    reserved: dict[str, Decimal] = defaultdict(Decimal)
    drawn = orders = 0
    while drawn < lines:
        order_id = ids()
        total = 0
        for sku in rng.sample(skus, min(rng.randint(2, 18), lines - drawn)):
            quantity = sku["pack_size"] * rng.randint(1, 12)
            reserved[sku["id"]] += quantity
            price = pricing.tier_for(tiers[sku["id"]], reserved[sku["id"]]).unit_price_cents
            pin = (
                rng.choice(suppliers[sku["id"]])["association_id"] if rng.random() < 0.15 else None
            )
            line = {
                "id": ids(),
                "order_id": order_id,
                "sku_id": sku["id"],
                "quantity": quantity,
                "preferred_association_id": pin,
                "unit_price_cents": price,
                "credited_quantity": Decimal(0),
            }
            line_rows.append(tuple(line.get(c) for c in line_columns))
            drawn += 1
            total += cents_times(price, quantity)
        order = {
            "id": order_id,
            "cycle_id": cycle["id"],
            "buyer_id": rng.choice(buyers)["id"],
            "status": "placed",
            "payment_method": rng.choice(["invoice", "invoice", "cash_on_delivery"]),
            "currency": "USD",
            "total_cents": total,
            "created_at": now,
            "updated_at": now,
        }
        order_rows.append(tuple(order.get(c) for c in order_columns))
        orders += 1
        if len(line_rows) >= COPY_CHUNK or drawn >= lines:
            await _copy(conn, "orders", order_columns, order_rows)
            await _copy(conn, "order_lines", line_columns, line_rows)
            order_rows, line_rows = [], []

    # offers: 1.2 to 2 times the demand, split at random, some with a minimum delivery
    offer_rows: list[dict[str, Any]] = []
    stock_rows: list[dict[str, Any]] = []
    for sku in skus:
        pack, demand = sku["pack_size"], reserved[sku["id"]]
        packs = int(demand / pack * Decimal(rng.uniform(1.2, 2.0))) + 10
        weights = [rng.random() + 0.05 for _ in suppliers[sku["id"]]]
        offered = Decimal(0)
        for supplier, weight in zip(suppliers[sku["id"]], weights, strict=True):
            capacity = pack * (int(packs * weight / sum(weights)) + 1)
            minimum = (capacity / 10).quantize(pack) if rng.random() < 0.3 else Decimal(0)
            offered += capacity
            offer_rows.append(
                {
                    "id": ids(),
                    "cycle_id": cycle["id"],
                    "sku_id": sku["id"],
                    "association_id": supplier["association_id"],
                    "supplier_id": supplier["id"],
                    "quantity": capacity,
                    "min_delivery": minimum,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        stock_rows.append(
            {
                "id": ids(),
                "cycle_id": cycle["id"],
                "sku_id": sku["id"],
                "offered_milli": int(offered * 1000),
                "reserved_milli": int(demand * 1000),
            }
        )
    await conn.execute(insert(_t(Offer)), offer_rows)
    await conn.execute(insert(_t(CycleSku)), stock_rows)
    return {"cycle_id": cycle["id"], "orders": orders, "offers": len(offer_rows)}


async def _copy(
    conn: AsyncConnection, table: str, columns: list[str], records: list[tuple[Any, ...]]
) -> None:
    """COPY the rows through asyncpg, in the seeding transaction (executemany of a million
    lines took minutes)."""
    raw = await conn.get_raw_connection()
    await raw.driver_connection.copy_records_to_table(table, records=records, columns=columns)


# --------------------------------------------------------------------------- the children


def _admin_url(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    assert parsed.database
    return parsed.set(database="postgres").render_as_string(hide_password=False), parsed.database


async def _recreate(url: str) -> None:
    admin, name = _admin_url(url)
    engine = create_async_engine(admin, isolation_level="AUTOCOMMIT")
    async with engine.connect() as conn:
        await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    await engine.dispose()


async def _seed_child(url: str, lines: int, policy: str) -> dict[str, Any]:
    from app.core.migrate import upgrade

    await _recreate(url)
    await asyncio.to_thread(upgrade, url)
    engine = create_async_engine(url)
    started = time.perf_counter()
    async with engine.begin() as conn:
        info = await seed(conn, lines, policy)
    seconds = time.perf_counter() - started
    # what autovacuum would have done by the cut-off: fresh planner statistics
    async with engine.connect() as conn:
        await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(text("VACUUM ANALYZE"))
    await engine.dispose()
    return {**info, "seed_seconds": round(seconds, 2)}


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


async def _close_child(url: str, cycle_id: str) -> dict[str, Any]:
    from app.aggregation.service import close_cycle
    from app.core.config import Settings
    from app.core.db import create_engine, create_sessionmaker, transaction

    settings = Settings(
        database_url=url,
        scheduler_enabled=False,
        log_level="WARNING",
        _env_file=None,
    )
    engine = create_engine(settings)
    sessionmaker = create_sessionmaker(engine)
    async with engine.connect() as conn:  # a warm pool, as in the running service
        await conn.execute(text("SELECT 1"))
    gc.collect()
    rss_before = _rss_mib()
    cpu_before = time.process_time()
    started = time.perf_counter()
    async with transaction(sessionmaker) as session:
        cycle = await close_cycle(session, settings, cycle_id, now=datetime.now(UTC), actor=None)
        status = cycle.status
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_before
    rss_peak = _rss_mib()
    load = os.getloadavg()[0]
    checks = await _check(engine, cycle_id)
    await engine.dispose()
    return {
        "seconds": round(seconds, 3),
        "cpu_seconds": round(cpu_seconds, 3),
        "load_1min": round(load, 2),
        "rss_before_mib": round(rss_before, 1),
        "peak_rss_mib": round(rss_peak, 1),
        "status": status,
        **checks,
    }


async def _check(engine: Any, cycle_id: str) -> dict[str, Any]:
    """Invariants of the result and a digest of everything the close computed."""
    o, ol, a = _t(Order), _t(OrderLine), _t(Allocation)
    d, dl = _t(DeliveryOrder), _t(DeliveryOrderLine)
    digest = hashlib.sha256()
    async with engine.connect() as conn:
        # streamed: a million lines are checked without holding them all
        line_rows = await conn.stream(
            select(ol.c.id, ol.c.quantity, ol.c.confirmed_quantity,
                   ol.c.unit_price_cents, ol.c.final_unit_price_cents)
            .join(o, o.c.id == ol.c.order_id)
            .where(o.c.cycle_id == cycle_id)
            .order_by(ol.c.id)
        )  # fmt: skip
        lines, demand = 0, Decimal(0)
        async for row in line_rows:
            assert row.confirmed_quantity == row.quantity, row
            assert row.final_unit_price_cents <= row.unit_price_cents, row
            digest.update(f"{row.id}:{row.final_unit_price_cents};".encode())
            lines += 1
            demand += row.quantity
        orders = (
            await conn.execute(
                select(o.c.id, o.c.status, o.c.final_total_cents)
                .where(o.c.cycle_id == cycle_id)
                .order_by(o.c.id)
            )
        ).all()
        for row in orders:
            assert row.status == "confirmed", row
            digest.update(f"{row.id}:{row.final_total_cents};".encode())
        allocations = (
            await conn.execute(
                select(a.c.offer_id, a.c.quantity, a.c.pinned, a.c.minimum_waived,
                       a.c.producer_price_cents, a.c.product_id)
                .where(a.c.cycle_id == cycle_id)
                .order_by(a.c.offer_id)
            )
        ).all()  # fmt: skip
        for row in allocations:
            digest.update(repr(tuple(row)).encode())
        delivery = (
            await conn.execute(
                select(d.c.association_id, dl.c.sku_id, dl.c.quantity, dl.c.product_id)
                .join(d, d.c.id == dl.c.delivery_order_id)
                .where(d.c.cycle_id == cycle_id)
                .order_by(d.c.association_id, dl.c.sku_id)
            )
        ).all()
        for row in delivery:
            digest.update(repr(tuple(row)).encode())
        delivery_orders = await conn.scalar(
            select(func.count()).select_from(d).where(d.c.cycle_id == cycle_id)
        )
    allocated = sum((r.quantity for r in allocations), Decimal(0))
    assert allocated == demand, (allocated, demand)
    return {
        "lines": lines,
        "orders": len(orders),
        "allocations": len(allocations),
        "delivery_orders": delivery_orders,
        "delivery_lines": len(delivery),
        "digest": digest.hexdigest()[:12],
    }


# --------------------------------------------------------------------------- the parent


def _child(*args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.close_cycle", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
        raise SystemExit(f"{' '.join(args)} failed")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def run(url: str, lines: int, policy: str, repeat: int) -> dict[str, Any]:
    """Seed and close ``repeat`` times; the median time and the largest peak are kept."""
    runs = []
    for _ in range(repeat):
        seeded = _child("seed", "--database-url", url, "--lines", str(lines), "--policy", policy)
        closed = _child("close", "--database-url", url, "--cycle-id", seeded["cycle_id"])
        runs.append({**seeded, **closed})
        print(
            f"  N={lines} {policy}: {closed['seconds']:.2f} s, "
            f"{closed['peak_rss_mib']:.0f} MiB peak, digest {closed['digest']}",
            flush=True,
        )
    digests = {r["digest"] for r in runs}
    assert len(digests) == 1, f"runs of the same data disagree: {digests}"
    return {
        **runs[0],
        "policy": policy,
        "n": lines,
        "seconds": statistics.median(r["seconds"] for r in runs),
        "all_seconds": [r["seconds"] for r in runs],
        "cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
        "load_1min": max(r["load_1min"] for r in runs),
        "peak_rss_mib": max(r["peak_rss_mib"] for r in runs),
    }


def _machine(url: str) -> dict[str, str]:
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for row in f:
            if row.startswith("model name"):
                cpu = row.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])

    async def server_version() -> str:
        engine = create_async_engine(url)
        async with engine.connect() as conn:
            version = str(await conn.scalar(text("SHOW server_version")))
        await engine.dispose()
        return version

    return {
        "cpu": f"{cpu}, {os.cpu_count()} cores",
        "memory": f"{mem_kib / 1024 / 1024:.1f} GiB",
        "postgres": f"PostgreSQL {asyncio.run(server_version())} (same machine, TCP)",
        "python": f"Python {platform.python_version()}, SQLAlchemy {sqlalchemy.__version__}",
        "os": platform.platform(),
    }


def _table(results: Sequence[dict[str, Any]]) -> list[str]:
    out = [
        "| N lines | policy | orders | allocations | seconds | µs / line | lines / s "
        "| peak RSS (MiB) | RSS before (MiB) | app CPU s | load (1 min) | digest |",
        "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in results:
        runs = ", ".join(f"{s:.2f}" for s in r["all_seconds"])
        seconds = f"{r['seconds']:.2f}" + (f" ({runs})" if len(r["all_seconds"]) > 1 else "")
        out.append(
            f"| {r['n']:,} | {r['policy']} | {r['orders']:,} | {r['allocations']:,} "
            f"| {seconds} | {r['seconds'] / r['n'] * 1e6:.1f} | {r['n'] / r['seconds']:,.0f} "
            f"| {r['peak_rss_mib']:.0f} "
            f"| {r['rss_before_mib']:.0f} | {r['cpu_seconds']:.2f} | {r['load_1min']:.1f} "
            f"| `{r['digest']}` |"
        )
    return out


def _verdict(results: Sequence[dict[str, Any]]) -> list[str]:
    main = {r["n"]: r for r in results if r["policy"] == "proportional"}
    out = []
    if 50_000 in main:
        s = main[50_000]["seconds"]
        out.append(f"- 50k lines closed in under 3 s: **{'yes' if s < 3 else 'no'}** ({s:.2f} s)")
    if 100_000 in main:
        s = main[100_000]["seconds"]
        out.append(
            f"- 100k lines closed in under 2.5 s: **{'yes' if s < 2.5 else 'no'}** ({s:.2f} s)"
        )
    sizes = sorted(main)
    if len(sizes) >= 2:
        per_line = [main[n]["seconds"] / n * 1e6 for n in sizes]
        worst = max(b / a for a, b in itertools.pairwise(per_line))
        linear = worst <= 1.15
        detail = ", ".join(f"{n:,}: {p:.1f} µs" for n, p in zip(sizes, per_line, strict=True))
        out.append(
            f"- growing no worse than linearly: **{'yes' if linear else 'no'}** "
            f"(time per line {detail}; at most +15% per step counts as linear)"
        )
    if 100_000 in main:
        peak = main[100_000]["peak_rss_mib"]
        megabytes = peak * 1.048576
        out.append(
            f"- peak memory under 500 MB at 100k lines: **{'yes' if megabytes < 500 else 'no'}**"
            f" ({peak:.0f} MiB = {megabytes:.0f} MB)"
        )
    return out


def chart(results: Sequence[dict[str, Any]], path: Path) -> None:
    """Cost per line against N (log x) of the proportional runs, as a PNG.

    matplotlib (the ``bench`` extra) is imported here, so the rest of the module runs
    without it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    main = sorted((r for r in results if r["policy"] == "proportional"), key=lambda r: r["n"])
    sizes = [r["n"] for r in main]
    per_line = [r["seconds"] / r["n"] * 1e6 for r in main]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(sizes, per_line, marker="o")
    for r, cost in zip(main, per_line, strict=True):
        ax.annotate(
            f"{r['seconds']:.2f} s, load {r['load_1min']:.1f}",
            (r["n"], cost),
            textcoords="offset points",
            xytext=(0, 8),
            ha="center",
            fontsize=8,
        )
    ax.set_xscale("log")
    if sizes:
        ax.set_xlim(sizes[0] / 2, sizes[-1] * 2)  # room for the labels at both ends
    ax.set_ylim(bottom=0, top=max(per_line, default=1) * 1.3)
    ax.set_xlabel("order lines closed (log scale)")
    ax.set_ylabel("µs per line (wall time of the close)")
    ax.set_title("Closing a cycle on PostgreSQL: cost per line")
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def report(results: Sequence[dict[str, Any]], machine: dict[str, str], command: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join(
        [
            START,
            f"Measured {stamp} with `{command}`.",
            "",
            *[f"- {k}: {v}" for k, v in machine.items()],
            "",
            *_table(results),
            "",
            *_verdict(results),
            END,
        ]
    )


def _write_doc(block: str) -> None:
    old = DOC.read_text() if DOC.exists() else f"# Benchmark: closing a cycle\n\n{START}\n{END}\n"
    if START not in old or END not in old:
        old = f"{old.rstrip()}\n\n{START}\n{END}\n"
    head, rest = old.split(START, 1)
    tail = rest.split(END, 1)[1]
    DOC.write_text(f"{head}{block}{tail}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.close_cycle", description=__doc__)
    parser.add_argument("role", nargs="?", default="parent", choices=["parent", "seed", "close"])
    parser.add_argument("--lines", type=int, nargs="+", default=[10_000, 50_000, 100_000])
    parser.add_argument(
        "--database-url",
        default=os.environ.get("MINGA_BENCH_URL", DEFAULT_URL),
        help="the database to (re)create: it is dropped first (default %(default)s)",
    )
    parser.add_argument("--policy", default="proportional")
    parser.add_argument(
        "--other-policies-at",
        type=int,
        default=50_000,
        help="N of the equal_share and income_equalizing runs (0: none)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs per N (the median is kept)")
    parser.add_argument("--cycle-id")
    parser.add_argument("--no-write", action="store_true", help="do not touch the docs")
    args = parser.parse_args(argv)

    if args.role == "seed":
        print(json.dumps(asyncio.run(_seed_child(args.database_url, args.lines[0], args.policy))))
        return
    if args.role == "close":
        print(json.dumps(asyncio.run(_close_child(args.database_url, args.cycle_id))))
        return

    plan = [(n, args.policy) for n in args.lines]
    if args.other_policies_at:
        plan += [(args.other_policies_at, p) for p in ("equal_share", "income_equalizing")]
    results = [run(args.database_url, n, policy, args.repeat) for n, policy in plan]
    command = "python -m bench.close_cycle " + " ".join(sys.argv[1:] if argv is None else argv)
    block = report(results, _machine(args.database_url), command.strip())
    print(block)
    if not args.no_write:
        _write_doc(block)
        chart(results, CHART)
        print(f"wrote {DOC} and {CHART}")


if __name__ == "__main__":
    main()

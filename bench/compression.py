"""Bytes on the wire of a catalogue page (``GET /api/v1/skus``) and an order history
(``GET /api/v1/orders``), sent as they are and compressed (gzip, brotli, zstd), as a phone
on a rural link would receive them.

Builds, through the HTTP API on a fresh SQLite database in a temporary folder (the test
suite's helpers make the organisations), a network with ``--skus`` SKUs (three price tiers,
two suppliers each) offered in an open cycle, and ``--orders`` orders of a buyer with three
lines each; then asks both pages (``limit`` 50) with each ``Accept-Encoding`` and counts the
body's bytes as sent. Run from the project folder::

    .venv/bin/python -m bench.compression --skus 50 --orders 50
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import httpx

from app.core import migrate
from app.core.config import Environment, Settings
from app.main import bootstrap, create_app
from tests.brands.conftest import build_network
from tests.orders.conftest import build_market
from tests.utils import ADMIN_EMAIL, ADMIN_PASSWORD, Api

ENCODINGS = ["identity", "gzip", "br", "zstd"]


async def measure(skus: int, orders: int, folder: Path) -> list[tuple[str, dict[str, int]]]:
    url = f"sqlite+aiosqlite:///{folder / 'bench.db'}"
    settings = Settings(
        environment=Environment.test,
        database_url=url,
        media_dir=str(folder / "media"),
        first_admin_email=ADMIN_EMAIL,
        first_admin_password=ADMIN_PASSWORD,
        log_level="WARNING",
        scheduler_enabled=False,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
        _env_file=None,  # type: ignore[call-arg]
    )
    app = create_app(settings)
    await bootstrap(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        m = await build_market(await build_network(Api(client)))
        products = [
            s["product_id"]
            for s in (
                await client.get(f"/api/v1/skus/{m.sku['id']}/suppliers", headers=m.net.admin)
            ).json()
        ]
        sku_ids = [m.sku["id"]]
        for n in range(1, skus):
            sku = await m.net.sku(name=f"Queso fresco Sabores de Cotopaxi {n} ({500 + n} g)")
            for product_id in products:
                r = await m.net.approve(sku["id"], product_id)
                assert r.status_code == 201, r.text
            sku_ids.append(sku["id"])
        for sku_id in sku_ids[1:]:
            r = await client.post(
                f"/api/v1/cycles/{m.cycle['id']}/offers",
                json={
                    "sku_id": sku_id,
                    "association_id": m.net.association["id"],
                    "quantity": "10000",
                },
                headers=m.net.association_staff,
            )
            assert r.status_code == 201, r.text
        for n in range(orders):
            lines = [
                {"sku_id": sku_ids[(n + k) % len(sku_ids)], "quantity": str(1 + k)}
                for k in range(3)
            ]
            r = await m.order(lines=lines)
            assert r.status_code == 201, r.text
        pages = [
            ("catalogue page, `GET /api/v1/skus?limit=50`", "/api/v1/skus", {"limit": "50"}),
            (
                "order history, `GET /api/v1/orders?limit=50`",
                "/api/v1/orders",
                {"limit": "50"},
            ),
        ]
        results = []
        for label, path, params in pages:
            sizes = {}
            for encoding in ENCODINGS:
                headers = {**m.buyer_staff, "Accept-Encoding": encoding}
                async with client.stream("GET", path, params=params, headers=headers) as r:
                    assert r.status_code == 200, path
                    assert r.headers.get("content-encoding", "identity") == encoding, encoding
                    sizes[encoding] = sum([len(c) async for c in r.aiter_raw()])
            results.append((label, sizes))
    await app.state.engine.dispose()
    return results


def table(results: list[tuple[str, dict[str, int]]]) -> str:
    lines = [
        "| answer | as it is | gzip | brotli | zstd |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for label, sizes in results:
        plain = sizes["identity"]
        cells = [f"{plain:,} B"] + [
            f"{sizes[e]:,} B ({sizes[e] / plain:.0%})" for e in ("gzip", "br", "zstd")
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=50)
    parser.add_argument("--orders", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        migrate.upgrade(f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}")
        results = asyncio.run(measure(args.skus, args.orders, Path(folder)))
    print(table(results))


if __name__ == "__main__":
    main()

"""The shop window: the published catalogue readable without logging in where the network
allows it, with headers a reverse proxy or CDN can cache by, and a page cache that only
catalogue changes invalidate (orders do not)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from app.core import stamps
from app.storefront.router import CATALOGUE_PAGES
from tests.brands.conftest import Network
from tests.orders.conftest import Market
from tests.utils import assert_problem

on_postgresql = pytest.mark.skipif(
    not os.environ.get("MINGA_TEST_DATABASE_URL"),
    reason="LISTEN/NOTIFY is PostgreSQL's; SQLite reads the stamp on every page",
)


async def _open(net: Network, public: bool = True) -> dict[str, Any]:
    r = await net.client.put(
        f"/api/v1/networks/{net.network['id']}/public-catalogue",
        json={"public_catalogue": public},
        headers=net.admin,
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def _stamp_row(app: FastAPI) -> int:
    async with app.state.engine.connect() as conn:
        version = await conn.scalar(text("SELECT version FROM change_stamps"))
    return int(version)


async def test_a_closed_shop_window_shows_nothing_to_anonymous_visitors(market: Market) -> None:
    net = market.net
    r = await net.client.get("/api/v1/skus")
    assert r.status_code == 200, r.text
    assert r.json()["items"] == []
    seen = await net.client.get("/api/v1/skus", headers=market.buyer_staff)
    assert [s["id"] for s in seen.json()["items"]] == [market.sku["id"]]
    assert seen.headers["Cache-Control"] == "private, no-cache"

    r = await net.client.get(
        f"/api/v1/networks/{net.network['id']}/public-catalogue", headers=net.staff
    )
    assert r.json() == {"network_id": net.network["id"], "public_catalogue": False}


async def test_an_open_shop_window_is_public_and_cacheable(market: Market) -> None:
    net = market.net
    assert await _open(net) == {"network_id": net.network["id"], "public_catalogue": True}

    r = await net.client.get("/api/v1/skus")
    assert r.status_code == 200, r.text
    [sku] = r.json()["items"]
    assert sku["id"] == market.sku["id"]
    assert sku["suppliers"]  # who makes it is part of the shop window
    assert r.headers["Cache-Control"] == "public, max-age=60"
    assert {"Accept-Language", "Authorization", "X-API-Key"} <= {
        v.strip() for v in r.headers["Vary"].split(",")
    }
    etag = r.headers["ETag"]
    assert etag.startswith('"')  # strong: no W/
    again = await net.client.get("/api/v1/skus", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.headers["ETag"] == etag
    assert again.content == b""

    # closing it again takes the SKUs out of the anonymous page at once
    await _open(net, public=False)
    closed = await net.client.get("/api/v1/skus", headers={"If-None-Match": etag})
    assert closed.status_code == 200
    assert closed.json()["items"] == []


async def test_only_the_networks_admins_open_the_window(market: Market) -> None:
    net = market.net
    url = f"/api/v1/networks/{net.network['id']}/public-catalogue"
    body = {"public_catalogue": True}
    for headers in (net.staff, net.association_staff, market.buyer_staff):
        r = await net.client.put(url, json=body, headers=headers)
        assert r.status_code in (403, 404), r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    assert_problem(await net.client.put(url, json=body), 401, "unauthenticated")
    r = await net.client.put(url, json={"public_catalogue": "yes"}, headers=net.admin)
    assert r.status_code == 422
    r = await net.client.put(
        f"/api/v1/networks/{market.buyer['id']}/public-catalogue", json=body, headers=net.admin
    )
    assert r.status_code == 404
    assert (await net.client.get("/api/v1/skus")).json()["items"] == []  # still closed


async def test_an_order_keeps_the_cached_page(market: Market, app: FastAPI) -> None:
    """Orders are audited too, but they change nothing a catalogue page shows: the next read
    is the cached page (the same bytes, no page built), not a rebuilt one."""
    staff = market.buyer_staff
    first = await market.client.get("/api/v1/skus", headers=staff)
    assert first.status_code == 200
    version = await _stamp_row(app)
    hits, misses = CATALOGUE_PAGES.hits, CATALOGUE_PAGES.misses

    r = await market.order("5")
    assert r.status_code == 201, r.text
    assert await _stamp_row(app) == version

    again = await market.client.get("/api/v1/skus", headers=staff)
    assert again.content == first.content
    assert again.headers["ETag"] == first.headers["ETag"]
    assert (CATALOGUE_PAGES.hits, CATALOGUE_PAGES.misses) == (hits + 1, misses)

    # a change to what the page shows moves the stamp and builds the page again
    r = await market.client.patch(
        f"/api/v1/skus/{market.sku['id']}",
        json={"name": "Queso fresco de Mulaló 500 g"},
        headers=market.net.admin,
    )
    assert r.status_code == 200, r.text
    assert await _stamp_row(app) == version + 1
    changed = await market.client.get("/api/v1/skus", headers=staff)
    assert changed.json()["items"][0]["name"] == "Queso fresco de Mulaló 500 g"
    assert changed.headers["ETag"] != first.headers["ETag"]


async def test_a_failed_change_does_not_move_the_stamp(market: Market, app: FastAPI) -> None:
    version = await _stamp_row(app)
    r = await market.client.patch(
        f"/api/v1/skus/{market.sku['id']}",
        json={"tiers": [{"min_quantity": "0", "unit_price_cents": 1}]},  # below the producer's
        headers=market.net.admin,
    )
    assert r.status_code == 422
    assert await _stamp_row(app) == version


async def _until(condition: Any, seconds: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


@on_postgresql
async def test_the_listener_follows_commits_of_other_workers(
    market: Market, app: FastAPI, database_url: str
) -> None:
    """One worker's listener moves its in-memory stamp when another process commits a
    catalogue change; while its connection is lost it reads the stamp from the row."""
    engine = app.state.engine
    known = stamps.stamps_of(engine.sync_engine)
    listener = stamps.StampListener(engine, retry_seconds=0.05)
    listener.start()
    other = create_async_engine(database_url)
    try:
        await _until(lambda: known.live)
        before = await stamps.current(engine, None, stamps.CATALOGUE)
        # another worker's commit: the row moves and the notification goes out on commit
        async with other.begin() as conn:
            row = (
                await conn.execute(
                    text(
                        "UPDATE change_stamps SET version = version + 1 "
                        "WHERE name = 'catalogue' RETURNING epoch, version"
                    )
                )
            ).one()
            await conn.execute(
                text("SELECT pg_notify('minga_stamps', :payload)"),
                {"payload": f"catalogue:{row.epoch}:{row.version}"},
            )
        expected = f"{row.epoch}:{row.version}"
        assert expected != before
        await _until(lambda: known.known.get("catalogue") == (row.epoch, row.version))
        assert await stamps.current(engine, None, stamps.CATALOGUE) == expected

        # the listener's connection dies: the stamp is read meanwhile, and it listens again
        async with other.begin() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = :name AND datname = current_database()"
                ),
                {"name": stamps.APPLICATION_NAME},
            )
        await _until(lambda: not known.live)
        async with other.begin() as conn:  # a change nobody is listening for
            await conn.execute(
                text("UPDATE change_stamps SET version = version + 1 WHERE name = 'catalogue'")
            )
        assert await stamps.current(engine, None, stamps.CATALOGUE) == (
            f"{row.epoch}:{row.version + 1}"
        )
        await _until(lambda: known.live)
        assert known.known["catalogue"] == (row.epoch, row.version + 1)  # read again after LISTEN
    finally:
        await listener.stop()
        await other.dispose()
    assert not known.live


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 10)).save(out, "PNG")
    return out.getvalue()


async def test_a_built_page_says_what_the_sku_itself_says(market: Market) -> None:
    """The page is built from rows (``storefront.pages``), a SKU alone from ORM objects
    (``brands.views``): the same SKU reads the same in both, eligibility, photos and all."""
    net = market.net
    second_sku = await net.sku(name="Huevos de campo Sabores de Cotopaxi 30 u", category="eggs")
    product = (await net.client.get("/api/v1/products", headers=net.association_staff)).json()
    product_id = product["items"][0]["id"]
    r = await net.client.post(
        f"/api/v1/products/{product_id}/images",
        files={"file": ("queso.png", _png())},
        headers=net.association_staff,
    )
    assert r.status_code == 201, r.text
    r = await market.client.patch(
        f"/api/v1/cycles/{market.cycle['id']}/offers/{market.offers['second']['id']}",
        json={"quantity": "220"},
        headers=market.second_staff,
    )
    assert r.status_code == 200, r.text
    r = await market.order("120")  # the second tier, in the cycle: 250 offered, 120 ordered
    assert r.status_code == 201, r.text
    # the second association's licence is suspended: its link stays, not eligible
    licences = (
        await net.client.get(f"/api/v1/brands/{net.brand['id']}/licenses", headers=net.admin)
    ).json()["items"]
    [second] = [lic for lic in licences if lic["association_id"] == market.second["id"]]
    r = await net.client.post(
        f"/api/v1/brands/{net.brand['id']}/licenses/{second['id']}/suspend",
        json={"reason": "auditoría"},
        headers=net.admin,
    )
    assert r.status_code == 200, r.text

    staff = market.buyer_staff
    for params in ({}, {"cycle_id": market.cycle["id"]}, {"limit": 1}):
        page = (await net.client.get("/api/v1/skus", params=params, headers=staff)).json()
        for item in page["items"]:
            alone = (await net.client.get(f"/api/v1/skus/{item['id']}", headers=staff)).json()
            if "cycle_id" in params:
                assert item["available_quantity"] is not None
                alone["available_quantity"] = item["available_quantity"]
                if item["id"] == market.sku["id"]:
                    assert item["current_unit_price_cents"] == 360
                    assert item["available_quantity"] == "130.000"
                    alone["current_unit_price_cents"] = item["current_unit_price_cents"]
                    alone["price_breakdown"] = item["price_breakdown"]
            assert item == alone
    cheese = next(
        i
        for i in (await net.client.get("/api/v1/skus", headers=staff)).json()["items"]
        if i["id"] == market.sku["id"]
    )
    assert [p["product_id"] for p in cheese["photos"]] == [product_id]
    assert sorted(s["eligible"] for s in cheese["suppliers"]) == [False, True]
    assert second_sku["id"] in {
        i["id"] for i in (await net.client.get("/api/v1/skus", headers=staff)).json()["items"]
    }
    paged = (await net.client.get("/api/v1/skus", params={"limit": 1}, headers=staff)).json()
    assert paged["next_cursor"]
    rest = await net.client.get(
        "/api/v1/skus", params={"limit": 1, "cursor": paged["next_cursor"]}, headers=staff
    )
    assert len(rest.json()["items"]) == 1
    assert rest.json()["items"][0]["id"] != paged["items"][0]["id"]


async def test_an_anonymous_visitor_gets_no_cycle_availability(market: Market) -> None:
    await _open(market.net)
    r = await market.client.get("/api/v1/skus", params={"cycle_id": market.cycle["id"]})
    assert_problem(r, 401, "unauthenticated")
    r = await market.client.get(
        "/api/v1/skus", params={"cycle_id": "0" * 32}, headers=market.buyer_staff
    )
    assert r.status_code == 404

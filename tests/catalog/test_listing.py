"""Listing sheets: search, filters, pagination, a constant number of queries, ETags."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from app.core.text import normalize, terms
from tests.catalog.helpers import PNG, Catalog
from tests.utils import assert_problem
from tests.utils.queries import count_statements

URL = "/api/v1/products"


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return sorted(p["name"] for p in response.json()["items"])


def test_normalize_drops_accents_and_case() -> None:
    assert normalize("  Quesos de MULALÓ\tñandú ") == "quesos de mulalo nandu"
    assert normalize("Straße") == "strasse"
    assert terms("Queso  queso QUESO mulaló") == ["queso", "mulalo"]


async def test_search_ignores_accents_and_case(catalog: Catalog) -> None:
    cheese = await catalog.create(name="Quesos frescos", description="De leche de páramo")
    flour = await catalog.create(
        name="Harina de máchica",
        category="flours",
        description="Cebada tostada y molida",
        origin={
            "parish": "Pujilí",
            "canton": "Pujilí",
            "province": "Cotopaxi",
            "latitude": -0.95,
            "longitude": -78.69,
        },
    )
    for pid in (cheese["id"], flour["id"]):
        await catalog.publish(pid)
    buyer = await catalog.buyer()
    client = catalog.client

    async def find(q: str) -> list[str]:
        return names(await client.get(URL, params={"q": q}, headers=buyer))

    assert await find("queso") == ["Quesos frescos"]
    assert await find("QUESO") == ["Quesos frescos"]
    assert await find("mulalo") == ["Quesos frescos"]  # the parish "Mulaló"
    assert await find("PARAMO") == ["Quesos frescos"]  # the description
    assert await find("pujili machica") == ["Harina de máchica"]
    assert await find("sabores") == ["Harina de máchica", "Quesos frescos"]  # association name
    assert await find("queso pujili") == []  # every word must match
    assert await find("100%") == []
    assert await find("_") == []

    # The search text follows the sheet's published changes (buyers search what they see).
    r = await client.patch(
        f"{URL}/{cheese['id']}", json={"name": "Yogur de mora"}, headers=catalog.staff
    )
    assert r.status_code == 200
    assert await find("yogur") == []
    await catalog.publish(cheese["id"])
    assert await find("queso") == []
    assert await find("yogur") == ["Yogur de mora"]


async def test_filters(catalog: Catalog) -> None:
    cheese = await catalog.create(name="Queso")
    eggs = await catalog.create(
        name="Huevos",
        category="eggs",
        certifications=[{"kind": "organic"}, {"kind": "pgs", "number": "SPG-9"}],
    )
    await catalog.create(name="Borrador")
    theirs = await catalog.create(
        headers=catalog.other_staff,
        association_id=catalog.other["id"],
        name="Cuy",
        category="small_livestock",
        certifications=[],
        origin={
            "parish": "Pujilí",
            "canton": "Pujilí",
            "province": "Cotopaxi",
            "latitude": -0.95,
            "longitude": -78.69,
        },
    )
    for pid in (cheese["id"], eggs["id"]):
        await catalog.publish(pid)
    await catalog.publish(theirs["id"], headers=catalog.other_staff)
    client, staff = catalog.client, catalog.staff

    async def listed(**params: Any) -> list[str]:
        return names(await client.get(URL, params=params, headers=staff))

    assert await listed() == ["Borrador", "Cuy", "Huevos", "Queso"]
    assert await listed(association_id=catalog.other["id"]) == ["Cuy"]
    assert await listed(category="eggs") == ["Huevos"]
    assert await listed(certification="organic") == ["Huevos"]
    assert await listed(certification="agroecological") == ["Borrador", "Queso"]
    assert await listed(status="draft") == ["Borrador"]
    assert await listed(status="published") == ["Cuy", "Huevos", "Queso"]
    assert await listed(parish="pujili") == ["Cuy"]
    assert await listed(parish="MULALÓ", category="dairy", status="published") == ["Queso"]

    r = await client.get(URL, params={"certification": "gold"}, headers=staff)
    assert_problem(r, 422, "validation_error")
    r = await client.get(URL, params={"status": "lost"}, headers=staff)
    assert_problem(r, 422, "validation_error")


async def test_pages_follow_the_cursor(catalog: Catalog) -> None:
    created = {(await catalog.create(name=f"Producto {i}"))["id"] for i in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        r = await catalog.client.get(URL, params=params, headers=catalog.staff)
        body = r.json()
        seen += [p["id"] for p in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5
    assert set(seen) == created


async def test_a_page_takes_the_same_number_of_queries_whatever_its_size(
    catalog: Catalog, app: FastAPI
) -> None:
    for i in range(40):
        product = await catalog.create(
            name=f"Queso {i}",
            certifications=[{"kind": "organic"}, {"kind": "pgs"}],
        )
        r = await catalog.client.post(
            f"{URL}/{product['id']}/images",
            files={"file": ("q.png", PNG)},
            headers=catalog.staff,
        )
        assert r.status_code == 201
    buyer = await catalog.buyer()
    counts = {}
    for limit in (5, 40):
        with count_statements(app) as statements:
            r = await catalog.client.get(URL, params={"limit": limit}, headers=catalog.staff)
        assert len(r.json()["items"]) == limit
        assert all(
            len(p["certifications"]) == 2 and len(p["images"]) == 1 for p in r.json()["items"]
        )
        counts[limit] = len(statements)
    assert counts[5] == counts[40], counts

    # The same for a buyer, with a search.
    for pid in [p["id"] for p in r.json()["items"]]:
        await catalog.publish(pid)
    buyer_counts = {}
    for limit in (5, 40):
        with count_statements(app) as statements:
            r = await catalog.client.get(URL, params={"limit": limit, "q": "queso"}, headers=buyer)
        assert len(r.json()["items"]) == limit
        buyer_counts[limit] = len(statements)
    assert buyer_counts[5] == buyer_counts[40], buyer_counts


async def test_etag_and_not_modified(catalog: Catalog) -> None:
    pid = (await catalog.create())["id"]
    client, staff = catalog.client, catalog.staff

    for url in (f"{URL}/{pid}", URL):
        r = await client.get(url, headers=staff)
        assert r.status_code == 200
        etag = r.headers["etag"]
        assert etag.startswith('"')
        assert etag.endswith('"')
        assert r.headers["content-type"] == "application/json"

        again = await client.get(url, headers=staff)
        assert again.headers["etag"] == etag  # the same body, the same tag

        r = await client.get(url, headers={**staff, "If-None-Match": etag})
        assert r.status_code == 304
        assert r.content == b""
        assert r.headers["etag"] == etag
        r = await client.get(url, headers={**staff, "If-None-Match": f'"other", W/{etag}'})
        assert r.status_code == 304
        r = await client.get(url, headers={**staff, "If-None-Match": '"other"'})
        assert r.status_code == 200

    old = (await client.get(f"{URL}/{pid}", headers=staff)).headers["etag"]
    await client.patch(f"{URL}/{pid}", json={"story": "Otra historia"}, headers=staff)
    r = await client.get(f"{URL}/{pid}", headers={**staff, "If-None-Match": old})
    assert r.status_code == 200
    assert r.headers["etag"] != old
    assert r.json()["story"] == "Otra historia"

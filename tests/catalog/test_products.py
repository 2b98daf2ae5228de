"""Writing, publishing, versioning and reading product sheets."""

from __future__ import annotations

from typing import Any

from tests.catalog.helpers import Catalog, gtin13, sheet
from tests.utils import assert_problem

URL = "/api/v1/products"


async def test_create_answers_the_whole_sheet_as_a_draft(catalog: Catalog) -> None:
    created = await catalog.create(pack_size=2.5)
    assert created["status"] == "draft"
    assert created["version"] == 1
    assert created["association_id"] == catalog.association["id"]
    assert created["association_name"] == "Asociación Sabores de Cotopaxi"
    assert created["pack_size"] == "2.500"
    assert created["unit"] == "unit"
    assert created["storage"] == "chilled"
    assert created["allergens"] == ["leche"]
    assert created["certifications"] == [
        {"kind": "agroecological", "number": "PGS-17", "expires_on": None}
    ]
    assert created["sanitary_registration"] == {
        "authority": "ARCSA",
        "number": "12345-ALN-0323",
        "expires_on": "2030-03-31",
    }
    assert created["origin"] == {
        "parish": "Mulaló",
        "canton": "Latacunga",
        "province": "Cotopaxi",
        "latitude": -0.7,
        "longitude": -78.57,
    }
    assert created["images"] == []
    assert created["published_at"] is None

    r = await catalog.client.get(f"{URL}/{created['id']}", headers=catalog.staff)
    assert r.status_code == 200
    assert r.json() == created


async def test_gtin_is_checked_and_compacted(catalog: Catalog) -> None:
    good = gtin13()
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    r = await catalog.client.post(
        URL, json=sheet(catalog.association["id"], gtin=bad), headers=catalog.staff
    )
    body = assert_problem(r, 422, "invalid_gtin")
    assert body["errors"][0]["field"] == "gtin"

    spaced = f"{good[:1]} {good[1:7]} {good[7:]}"
    created = await catalog.create(gtin=spaced)
    assert created["gtin"] == good

    r = await catalog.client.patch(
        f"{URL}/{created['id']}", json={"gtin": "12345"}, headers=catalog.staff
    )
    assert_problem(r, 422, "invalid_gtin")


async def test_input_is_validated(catalog: Catalog) -> None:
    association_id = catalog.association["id"]
    r = await catalog.client.post(
        URL, json=sheet(association_id, category="spaceships"), headers=catalog.staff
    )
    body = assert_problem(r, 422, "unknown_category")
    assert body["errors"] == [{"field": "category", "detail": body["errors"][0]["detail"]}]

    cases: list[tuple[dict[str, Any], str]] = [
        ({"pack_size": "0"}, "pack_size"),
        ({"pack_size": "-1"}, "pack_size"),
        ({"pack_size": "1.2345"}, "pack_size"),
        ({"pack_size": "lots"}, "pack_size"),
        ({"unit": "bushel"}, "unit"),
        ({"storage": "warm"}, "storage"),
        ({"name": "x" * 201}, "name"),
        ({"name": "  "}, "name"),
        ({"allergens": [f"a{i}" for i in range(21)]}, "allergens"),
        ({"certifications": [{"kind": "gold"}]}, "certifications.0.kind"),
        ({"origin": {"parish": "Mulaló"}}, "origin.canton"),
        ({"sanitary_registration": {"authority": "FDA", "number": "1", "expires_on": None}}, ""),
        ({"unexpected": True}, "unexpected"),
    ]
    for fields, field in cases:
        r = await catalog.client.post(
            URL, json=sheet(association_id, **fields), headers=catalog.staff
        )
        body = assert_problem(r, 422, "validation_error")
        assert any(e["field"].startswith(field) for e in body["errors"]), (fields, body)

    r = await catalog.client.patch(
        f"{URL}/{(await catalog.create())['id']}", json={"name": None}, headers=catalog.staff
    )
    assert_problem(r, 422, "validation_error")


async def test_patch_publish_and_versions(catalog: Catalog) -> None:
    product = await catalog.create()
    pid = product["id"]

    published = await catalog.publish(pid)
    assert published["status"] == "published"
    assert published["version"] == 1
    assert published["published_at"] is not None

    # Publishing again without a change makes no new version.
    again = await catalog.publish(pid)
    assert again["version"] == 1

    r = await catalog.client.patch(
        f"{URL}/{pid}",
        json={
            "name": "Queso fresco semimaduro",
            "pack_size": "1",
            "certifications": [{"kind": "organic", "number": "BCS-1", "expires_on": "2028-01-01"}],
            "sanitary_registration": None,
        },
        headers=catalog.staff,
    )
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["name"] == "Queso fresco semimaduro"
    assert patched["pack_size"] == "1.000"
    assert patched["certifications"] == [
        {"kind": "organic", "number": "BCS-1", "expires_on": "2028-01-01"}
    ]
    assert patched["sanitary_registration"] is None
    assert patched["description"] == product["description"]  # untouched fields stay
    assert patched["status"] == "published"
    assert patched["version"] == 1  # a new version only when published

    republished = await catalog.publish(pid)
    assert republished["version"] == 2

    r = await catalog.client.get(f"{URL}/{pid}/versions", headers=await catalog.buyer())
    assert r.status_code == 200
    versions = r.json()["items"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["snapshot"]["name"] == "Queso fresco de Mulaló"
    assert versions[0]["snapshot"]["pack_size"] == "0.500"
    assert versions[0]["snapshot"]["version"] == 1
    assert versions[1]["snapshot"]["name"] == "Queso fresco semimaduro"
    assert versions[1]["snapshot"]["version"] == 2

    r = await catalog.client.get(f"{URL}/{pid}/versions/1", headers=catalog.other_staff)
    assert r.status_code == 200
    assert r.json()["snapshot"]["certifications"][0]["kind"] == "agroecological"
    r = await catalog.client.get(f"{URL}/{pid}/versions/3", headers=catalog.staff)
    assert_problem(r, 404, "product_version_not_found")

    # A PATCH that changes nothing does not count as a change.
    r = await catalog.client.patch(
        f"{URL}/{pid}", json={"name": "Queso fresco semimaduro"}, headers=catalog.staff
    )
    assert r.status_code == 200
    assert (await catalog.publish(pid))["version"] == 2


async def test_archived_sheets_are_frozen_but_their_versions_stay(catalog: Catalog) -> None:
    pid = (await catalog.create())["id"]
    await catalog.publish(pid)
    r = await catalog.client.post(f"{URL}/{pid}/archive", headers=catalog.staff)
    assert r.status_code == 200
    assert r.json()["status"] == "archived"

    r = await catalog.client.patch(f"{URL}/{pid}", json={"name": "Otro"}, headers=catalog.staff)
    assert_problem(r, 409, "product_archived")
    r = await catalog.client.post(f"{URL}/{pid}/publish", headers=catalog.staff)
    assert_problem(r, 409, "product_archived")

    buyer = await catalog.buyer()
    assert_problem(
        await catalog.client.get(f"{URL}/{pid}", headers=buyer), 404, "product_not_found"
    )
    r = await catalog.client.get(f"{URL}/{pid}/versions/1", headers=buyer)
    assert r.status_code == 200  # orders placed against it can still show it
    r = await catalog.client.get(f"{URL}/{pid}", headers=catalog.staff)
    assert r.json()["status"] == "archived"


async def test_drafts_are_seen_only_by_their_association(catalog: Catalog) -> None:
    draft = await catalog.create(name="Borrador")
    live = await catalog.create(name="Publicado")
    await catalog.publish(live["id"])
    buyer = await catalog.buyer()

    for headers in (buyer, catalog.other_staff):
        r = await catalog.client.get(f"{URL}/{draft['id']}", headers=headers)
        assert_problem(r, 404, "product_not_found")
        r = await catalog.client.get(f"{URL}/{draft['id']}/versions", headers=headers)
        assert_problem(r, 404, "product_not_found")
        r = await catalog.client.get(URL, headers=headers)
        assert [p["name"] for p in r.json()["items"]] == ["Publicado"]

    r = await catalog.client.get(URL, headers=catalog.staff)
    assert {p["name"] for p in r.json()["items"]} == {"Borrador", "Publicado"}
    r = await catalog.client.get(URL, headers=await catalog.api.admin())
    assert {p["name"] for p in r.json()["items"]} == {"Borrador", "Publicado"}
    r = await catalog.client.get(URL, params={"status": "draft"}, headers=buyer)
    assert r.json()["items"] == []

    assert (await catalog.client.get(URL)).status_code == 401


async def test_other_associations_cannot_touch_a_sheet(catalog: Catalog) -> None:
    pid = (await catalog.create())["id"]
    await catalog.publish(pid)
    other = catalog.other_staff
    client = catalog.client

    r = await client.patch(f"{URL}/{pid}", json={"name": "Mío"}, headers=other)
    assert_problem(r, 404, "product_not_found")
    assert_problem(
        await client.post(f"{URL}/{pid}/publish", headers=other), 404, "product_not_found"
    )
    assert_problem(
        await client.post(f"{URL}/{pid}/archive", headers=other), 404, "product_not_found"
    )
    r = await client.post(
        f"{URL}/{pid}/images", files={"file": ("a.png", b"\x89PNG\r\n\x1a\n")}, headers=other
    )
    assert_problem(r, 404, "product_not_found")
    r = await client.post(URL, json=sheet(catalog.association["id"], name="Intruso"), headers=other)
    assert_problem(r, 404, "organization_not_found")
    # An unknown id answers the same.
    r = await client.patch(f"{URL}/no-such-sheet", json={"name": "Mío"}, headers=other)
    assert_problem(r, 404, "product_not_found")

    r = await client.get(f"{URL}/{pid}", headers=catalog.staff)
    assert r.json()["name"] == "Queso fresco de Mulaló"
    assert r.json()["status"] == "published"


async def test_only_associations_own_sheets(catalog: Catalog) -> None:
    buyer = await catalog.api.organization(kind="buyer")
    r = await catalog.client.post(URL, json=sheet(buyer["id"]), headers=await catalog.api.admin())
    assert_problem(r, 422, "not_an_association")


async def test_every_change_is_audited(catalog: Catalog) -> None:
    pid = (await catalog.create())["id"]
    await catalog.client.patch(f"{URL}/{pid}", json={"shelf_life_days": 20}, headers=catalog.staff)
    await catalog.publish(pid)
    await catalog.client.post(f"{URL}/{pid}/archive", headers=catalog.staff)

    _, admin = await catalog.api.member(catalog.association["id"], role="admin")
    r = await catalog.client.get(
        "/api/v1/audit-events",
        params={"organization_id": catalog.association["id"], "object_id": pid},
        headers=admin,
    )
    events = {e["action"]: e for e in r.json()["items"]}
    assert set(events) == {"product.create", "product.update", "product.publish", "product.archive"}
    assert events["product.create"]["changes"]["name"] == [None, "Queso fresco de Mulaló"]
    assert events["product.update"]["changes"] == {"shelf_life_days": [15, 20]}
    assert events["product.publish"]["changes"] == {"status": ["draft", "published"]}
    assert events["product.archive"]["changes"] == {"status": ["published", "archived"]}


async def test_categories_are_listed(catalog: Catalog) -> None:
    r = await catalog.client.get("/api/v1/categories", headers=catalog.staff)
    assert r.status_code == 200
    by_slug = {c["slug"]: c for c in r.json()}
    assert len(by_slug) == 16
    assert by_slug["dairy"] == {"slug": "dairy", "name": "Lácteos", "processed": True}
    assert by_slug["eggs"]["processed"] is False


async def test_patch_fills_the_defaults_of_nested_objects(catalog: Catalog) -> None:
    """A certification sent without its optional fields is stored with them empty (found by
    the schemathesis run: they were left out of the dump and the update answered 500)."""
    created = await catalog.create()
    r = await catalog.client.patch(
        f"{URL}/{created['id']}",
        json={"certifications": [{"kind": "organic"}]},
        headers=catalog.staff,
    )
    assert r.status_code == 200, r.text
    assert r.json()["certifications"] == [{"kind": "organic", "number": None, "expires_on": None}]

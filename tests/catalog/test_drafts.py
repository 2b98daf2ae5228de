"""Editing a published sheet makes a draft of its next version; everyone else keeps seeing
the published version until the association publishes again."""

from __future__ import annotations

from typing import Any

import pytest

from tests.brands.conftest import Network, build_network
from tests.utils import Api, assert_problem

URL = "/api/v1/products"
OLD_NAME = "Queso fresco de Mulaló"
NEW_NAME = "Queso fresco con orégano"
ORGANIC = {"kind": "organic", "number": "BCS-1", "expires_on": "2030-01-01"}
AGROECOLOGICAL = {"kind": "agroecological", "number": "PGS-17", "expires_on": None}


@pytest.fixture
async def supplied(api: Api) -> tuple[Network, dict[str, Any], dict[str, Any], dict[str, str]]:
    """A published sheet (version 1) approved to supply a brand SKU, and a buyer's login."""
    net = await build_network(api)
    sku = await net.sku()
    product = await net.sheet()
    assert (await net.approve(sku["id"], product["id"])).status_code == 201
    buyer = await api.organization(kind="buyer")
    _, buyer_staff = await api.member(buyer["id"], role="staff")
    return net, sku, product, buyer_staff


async def _edit(net: Network, product_id: str, **fields: Any) -> dict[str, Any]:
    r = await net.client.patch(f"{URL}/{product_id}", json=fields, headers=net.association_staff)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def _get(net: Network, path: str, headers: dict[str, str], **params: Any) -> Any:
    r = await net.client.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


async def _names(net: Network, headers: dict[str, str], **params: Any) -> list[str]:
    return sorted(p["name"] for p in (await _get(net, URL, headers, **params))["items"])


async def _sku_suppliers(net: Network, sku_id: str, headers: dict[str, str]) -> list[Any]:
    [sku] = [s for s in (await _get(net, "/api/v1/skus", headers))["items"] if s["id"] == sku_id]
    suppliers: list[Any] = sku["suppliers"]
    return suppliers


async def test_an_edited_published_sheet_keeps_its_public_face(supplied: Any) -> None:
    net, sku, product, buyer = supplied
    pid = product["id"]

    edited = await _edit(
        net, pid, name=NEW_NAME, certifications=[AGROECOLOGICAL, ORGANIC], shelf_life_days=15
    )
    # The association sees its working copy, and that it is not published yet.
    assert edited["name"] == NEW_NAME
    assert {c["kind"] for c in edited["certifications"]} == {"agroecological", "organic"}
    assert edited["status"] == "published"
    assert edited["version"] == 1
    assert edited["has_unpublished_changes"] is True
    assert edited["draft"]["version"] == 2
    assert edited["draft"]["changed_fields"] == ["name", "certifications"]  # 15 days unchanged
    assert edited["updated_at"] == product["updated_at"]

    # Buyers, the network and other associations still read version 1, and nothing of the
    # draft: not its content, not that there is one.
    _, other_staff = await net.join(name="Asociación vecina")
    for headers in (buyer, net.admin, other_staff):
        seen = await _get(net, f"{URL}/{pid}", headers)
        assert seen["name"] == OLD_NAME
        assert seen["certifications"] == [AGROECOLOGICAL]
        assert seen["status"] == "published"
        assert seen["version"] == 1
        assert seen["has_unpublished_changes"] is False
        assert seen["draft"] is None
        assert seen["updated_at"] == product["updated_at"]
        assert await _names(net, headers, q="orégano") == []
        assert await _names(net, headers, certification="organic") == []
        assert await _names(net, headers, q="queso mulaló") == [OLD_NAME]
        assert (await _get(net, URL, headers, view="working"))["items"][0]["name"] == OLD_NAME

    # The brand listing keeps the supplier, as approved, under its published name.
    [supplier] = await _sku_suppliers(net, sku["id"], buyer)
    assert supplier["product_name"] == OLD_NAME
    assert supplier["product_version"] == 1
    assert supplier["status"] == "approved"
    assert supplier["eligible"] is True

    versions = await _get(net, f"{URL}/{pid}/versions", buyer)
    assert [v["version"] for v in versions["items"]] == [1]

    # The association reads the published face too, when it asks for it.
    owner = net.association_staff
    public = await _get(net, f"{URL}/{pid}", owner, view="published")
    assert public["name"] == OLD_NAME
    assert public["certifications"] == [AGROECOLOGICAL]
    assert public["has_unpublished_changes"] is True
    assert public["draft"]["changed_fields"] == ["name", "certifications"]
    working = await _get(net, f"{URL}/{pid}", owner)
    assert working == edited
    assert await _get(net, f"{URL}/{pid}", await net.api.admin()) == edited  # platform admin
    [listed] = (await _get(net, URL, owner))["items"]
    assert listed == edited
    [listed] = (await _get(net, URL, owner, view="published"))["items"]
    assert listed == public
    # Filters and search match what buyers see, for the association too.
    assert await _names(net, owner, q="orégano") == []


async def test_edits_accumulate_and_a_change_undone_leaves_nothing_to_publish(
    supplied: Any,
) -> None:
    net, _, product, buyer = supplied
    pid = product["id"]
    await _edit(net, pid, name=NEW_NAME)
    second = await _edit(net, pid, pack_size="1")
    assert second["name"] == NEW_NAME  # the first edit is still in the draft
    assert second["pack_size"] == "1.000"
    assert second["draft"]["changed_fields"] == ["name", "pack_size"]
    assert (await _get(net, f"{URL}/{pid}", buyer))["pack_size"] == "0.500"

    undone = await _edit(net, pid, name=OLD_NAME, pack_size="0.5")
    assert undone["has_unpublished_changes"] is False
    assert undone["draft"] is None
    again = (await net.client.post(f"{URL}/{pid}/publish", headers=net.association_staff)).json()
    assert again["version"] == 1  # nothing changed: no new version

    # Every draft change is audited for the association.
    _, admin = await net.api.member(net.association["id"], role="admin")
    events = await _get(
        net,
        "/api/v1/audit-events",
        admin,
        organization_id=net.association["id"],
        object_id=pid,
    )
    drafts = [e["changes"] for e in events["items"] if e["action"] == "product.draft"]
    assert {"name": [OLD_NAME, NEW_NAME]} in drafts
    assert {"name": [NEW_NAME, OLD_NAME], "pack_size": ["1.000", "0.500"]} in drafts


async def test_publishing_the_draft_shows_version_2_to_everyone(supplied: Any) -> None:
    net, sku, product, buyer = supplied
    pid = product["id"]
    await _edit(net, pid, name=NEW_NAME, certifications=[AGROECOLOGICAL, ORGANIC])

    r = await net.client.post(f"{URL}/{pid}/publish", headers=net.association_staff)
    assert r.status_code == 200, r.text
    published = r.json()
    assert published["status"] == "published"
    assert published["version"] == 2
    assert published["name"] == NEW_NAME
    assert published["has_unpublished_changes"] is False
    assert published["draft"] is None
    [check] = published["supplier_checks"]
    assert check["sku_id"] == sku["id"]
    assert check["checked_version"] == 2
    assert (check["previous_status"], check["status"], check["errors"]) == (
        "approved",
        "approved",
        [],
    )

    seen = await _get(net, f"{URL}/{pid}", buyer)
    assert seen["version"] == 2
    assert seen["name"] == NEW_NAME
    assert {c["kind"] for c in seen["certifications"]} == {"agroecological", "organic"}
    assert await _names(net, buyer, q="orégano") == [NEW_NAME]
    assert await _names(net, buyer, certification="organic") == [NEW_NAME]
    owner_view = await _get(net, f"{URL}/{pid}", net.association_staff)
    assert owner_view["draft"] is None
    assert owner_view["name"] == NEW_NAME

    versions = (await _get(net, f"{URL}/{pid}/versions", buyer))["items"]
    assert [(v["version"], v["snapshot"]["name"]) for v in versions] == [
        (1, OLD_NAME),
        (2, NEW_NAME),
    ]
    assert "draft" not in versions[1]["snapshot"]
    [supplier] = await _sku_suppliers(net, sku["id"], buyer)
    assert supplier["product_name"] == NEW_NAME
    assert supplier["product_version"] == 1  # the version the network approved

    # The audit of the publication names what changed.
    _, admin = await net.api.member(net.association["id"], role="admin")
    events = await _get(
        net, "/api/v1/audit-events", admin, organization_id=net.association["id"], object_id=pid
    )
    [second] = [
        e["changes"]
        for e in events["items"]
        if e["action"] == "product.publish" and "version" in e["changes"]
    ]
    assert second["version"] == [1, 2]
    assert second["name"] == [OLD_NAME, NEW_NAME]
    assert second["certifications"][1] == [
        {"kind": "agroecological", "number": "PGS-17", "expires_on": None},
        {"kind": "organic", "number": "BCS-1", "expires_on": "2030-01-01"},
    ]


async def test_a_never_published_sheet_changes_in_place(supplied: Any) -> None:
    net, _, _, _ = supplied
    draft = await net.sheet(publish=False, name="Borrador")
    edited = await _edit(net, draft["id"], name="Borrador 2")
    assert (edited["status"], edited["name"], edited["has_unpublished_changes"]) == (
        "draft",
        "Borrador 2",
        False,
    )
    assert edited["draft"] is None
    r = await net.client.get(
        f"{URL}/{draft['id']}", params={"view": "published"}, headers=net.association_staff
    )
    assert_problem(r, 404, "product_not_published")
    items = (await _get(net, URL, net.association_staff, view="published"))["items"]
    assert draft["id"] not in {p["id"] for p in items}
    r = await net.client.get(f"{URL}/{draft['id']}", params={"view": "x"}, headers=net.admin)
    assert_problem(r, 422, "validation_error")


async def test_archiving_drops_the_draft(supplied: Any) -> None:
    net, _, product, _ = supplied
    pid = product["id"]
    await _edit(net, pid, name=NEW_NAME)
    r = await net.client.post(f"{URL}/{pid}/archive", headers=net.association_staff)
    assert r.status_code == 200, r.text
    archived = r.json()
    assert (archived["status"], archived["name"], archived["draft"]) == (
        "archived",
        OLD_NAME,
        None,
    )
    seen = await _get(net, f"{URL}/{pid}", net.association_staff)
    assert (seen["name"], seen["has_unpublished_changes"]) == (OLD_NAME, False)


async def test_bad_draft_input_is_refused_like_any_patch(supplied: Any) -> None:
    net, _, product, buyer = supplied
    pid = product["id"]
    r = await net.client.patch(
        f"{URL}/{pid}", json={"category": "spaceships"}, headers=net.association_staff
    )
    assert_problem(r, 422, "unknown_category")
    r = await net.client.patch(
        f"{URL}/{pid}", json={"gtin": "12345"}, headers=net.association_staff
    )
    assert_problem(r, 422, "invalid_gtin")
    r = await net.client.patch(f"{URL}/{pid}", json={"name": NEW_NAME}, headers=buyer)
    assert_problem(r, 404, "product_not_found")
    seen = await _get(net, f"{URL}/{pid}", net.association_staff)
    assert seen["has_unpublished_changes"] is False


async def test_every_field_of_a_draft_is_published(supplied: Any) -> None:
    net, _, product, buyer = supplied
    pid = product["id"]
    change = {
        "name": NEW_NAME,
        "category": "eggs",
        "description": "Otra descripción",
        "story": "Otra historia",
        "unit": "dozen",
        "pack_size": "2",
        "variable_weight": True,
        "shelf_life_days": None,
        "storage": "ambient",
        "allergens": ["huevo"],
        "certifications": [{"kind": "pgs"}, AGROECOLOGICAL],
        "sanitary_registration": None,
        "gtin": None,
        "origin": {
            "parish": "Pujilí",
            "canton": "Pujilí",
            "province": "Cotopaxi",
            "latitude": -0.95,
            "longitude": -78.69,
        },
    }
    edited = await _edit(net, pid, **change)
    assert sorted(edited["draft"]["changed_fields"]) == sorted(change)
    before = await _get(net, f"{URL}/{pid}", buyer)
    assert {k: before[k] for k in change} == {k: product[k] for k in change}
    r = await net.client.post(f"{URL}/{pid}/publish", headers=net.association_staff)
    assert r.status_code == 200, r.text
    seen = await _get(net, f"{URL}/{pid}", buyer)
    expected = {
        **change,
        "pack_size": "2.000",
        "certifications": [AGROECOLOGICAL, {"kind": "pgs", "number": None, "expires_on": None}],
    }
    assert {k: seen[k] for k in change} == expected
    assert {k: edited[k] for k in change} == expected  # the working copy was what got published
    assert seen["version"] == 2
    assert await _names(net, buyer, parish="pujili") == [NEW_NAME]
    assert await _names(net, buyer, category="eggs") == [NEW_NAME]

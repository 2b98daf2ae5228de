"""Organisations, members and networks, and who may see and change them."""

from __future__ import annotations

from typing import Any

import pytest

from tests.utils import PASSWORD, Api, assert_problem, colombia_nit, ecuador_ruc

ORGS = "/api/v1/organizations"


def org_body(**fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "association",
        "name": "Asociación Mulaló",
        "tax_id": ecuador_ruc(),
        "country": "EC",
        "province": "Cotopaxi",
        "canton": "Latacunga",
        "parish": "Mulaló",
        "latitude": -0.779,
        "longitude": -78.585,
        "members_total": 32,
        "members_women": 27,
    }
    body.update(fields)
    return body


async def test_platform_admin_creates_each_kind(api: Api) -> None:
    admin = await api.admin()
    r = await api.client.post(ORGS, json=org_body(), headers=admin)
    assert r.status_code == 201, r.text
    association = r.json()
    assert association["kind"] == "association"
    assert association["members_women"] == 27
    assert association["currency"] == "USD"
    assert association["timezone"] == "America/Guayaquil"

    r = await api.client.post(
        ORGS,
        json=org_body(
            kind="buyer",
            buyer_type="supermarket",
            members_total=None,
            members_women=None,
            payment_terms_days=30,
        ),
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["buyer_type"] == "supermarket"
    assert r.json()["payment_terms_days"] == 30

    r = await api.client.post(
        ORGS,
        json=org_body(
            kind="network",
            country="CO",
            tax_id="900.373.913-4",
            province="Nariño",
            canton="Pasto",
            parish="Pasto",
            members_total=None,
            members_women=None,
        ),
        headers=admin,
    )
    assert r.status_code == 201, r.text
    network = r.json()
    assert network["tax_id"] == "9003739134"  # stored compact
    assert (network["currency"], network["timezone"]) == ("COP", "America/Bogota")

    r = await api.client.post(
        ORGS,
        json=org_body(kind="collection_centre", members_total=None, members_women=None),
        headers=admin,
    )
    assert r.status_code == 201, r.text


@pytest.mark.parametrize(
    ("country", "tax_id"),
    [
        ("EC", "1790085783000"),  # RUC with a wrong establishment number
        ("EC", "1710034066"),  # cédula with a wrong check digit
        ("EC", "99"),
        ("CO", "900373913-5"),  # NIT with a wrong check digit
        ("CO", "abc"),
    ],
)
async def test_bad_tax_ids_are_422(api: Api, country: str, tax_id: str) -> None:
    r = await api.client.post(
        ORGS, json=org_body(country=country, tax_id=tax_id), headers=await api.admin()
    )
    body = assert_problem(r, 422, "invalid_tax_id")
    assert body["errors"][0]["field"] == "tax_id"


async def test_good_tax_ids_of_both_countries(api: Api) -> None:
    admin = await api.admin()
    for country, tax_id in [("EC", "1790085783001"), ("EC", "1710034065"), ("CO", colombia_nit())]:
        r = await api.client.post(
            ORGS, json=org_body(country=country, tax_id=tax_id), headers=admin
        )
        assert r.status_code == 201, r.text


async def test_duplicate_tax_id_is_409(api: Api) -> None:
    body = org_body()
    admin = await api.admin()
    assert (await api.client.post(ORGS, json=body, headers=admin)).status_code == 201
    assert_problem(await api.client.post(ORGS, json=body, headers=admin), 409, "tax_id_taken")


async def test_fields_must_fit_the_kind(api: Api) -> None:
    admin = await api.admin()
    r = await api.client.post(ORGS, json=org_body(members_women=40), headers=admin)
    assert_problem(r, 422, "invalid_organization")
    r = await api.client.post(ORGS, json=org_body(buyer_type="restaurant"), headers=admin)
    assert_problem(r, 422, "invalid_organization")
    r = await api.client.post(ORGS, json=org_body(timezone="Mars/Olympus"), headers=admin)
    assert_problem(r, 422, "invalid_organization")
    r = await api.client.post(ORGS, json=org_body(latitude=123), headers=admin)
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["field"] == "latitude"
    r = await api.client.post(ORGS, json=org_body(kind="cooperative"), headers=admin)
    assert_problem(r, 422, "validation_error")
    r = await api.client.post(ORGS, json=org_body(name="x" * 201), headers=admin)
    assert_problem(r, 422, "validation_error")


async def test_only_platform_admins_create_organizations(api: Api) -> None:
    org = await api.organization()
    _, headers = await api.member(org["id"], role="admin")
    r = await api.client.post(ORGS, json=org_body(), headers=headers)
    assert_problem(r, 403, "platform_admin_required")


async def test_org_admin_adds_members_and_staff_cannot(api: Api) -> None:
    org = await api.organization()
    _, admin = await api.member(org["id"], role="admin")
    r = await api.client.post(
        f"{ORGS}/{org['id']}/members",
        json={
            "email": "maria@minga.ec",
            "full_name": "María",
            "password": PASSWORD,
            "role": "staff",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "staff"
    staff = await api.login("maria@minga.ec")

    r = await api.client.post(
        f"{ORGS}/{org['id']}/members",
        json={"email": "juan@minga.ec", "full_name": "Juan", "password": PASSWORD, "role": "staff"},
        headers=staff,
    )
    assert_problem(r, 403, "insufficient_role")
    r = await api.client.post(
        f"{ORGS}/{org['id']}/members",
        json={
            "email": "maria@minga.ec",
            "full_name": "María",
            "password": PASSWORD,
            "role": "admin",
        },
        headers=admin,
    )
    assert_problem(r, 409, "already_member")
    members = (await api.client.get(f"{ORGS}/{org['id']}/members", headers=staff)).json()
    assert sorted(m["role"] for m in members["items"]) == ["admin", "staff"]


async def test_members_of_one_org_get_404_on_another(api: Api) -> None:
    mine = await api.organization()
    theirs = await api.organization("buyer")
    _, headers = await api.member(mine["id"], role="admin")
    assert_problem(
        await api.client.get(f"{ORGS}/{theirs['id']}", headers=headers),
        404,
        "organization_not_found",
    )
    r = await api.client.post(
        f"{ORGS}/{theirs['id']}/members",
        json={"email": "x@minga.ec", "full_name": "X", "password": PASSWORD, "role": "admin"},
        headers=headers,
    )
    assert_problem(r, 404, "organization_not_found")
    r = await api.client.get(f"{ORGS}/{theirs['id']}/members", headers=headers)
    assert_problem(r, 404, "organization_not_found")
    # and an id that does not exist at all answers the same
    r = await api.client.get(f"{ORGS}/no-such-org", headers=headers)
    assert_problem(r, 404, "organization_not_found")
    listed = (await api.client.get(ORGS, headers=headers)).json()
    assert [o["id"] for o in listed["items"]] == [mine["id"]]


async def test_a_removed_membership_stops_granting_at_once(api: Api) -> None:
    org = await api.organization()
    _, first = await api.member(org["id"], role="admin")
    second_member, second = await api.member(org["id"], role="admin")
    assert (await api.client.get(f"{ORGS}/{org['id']}", headers=second)).status_code == 200
    r = await api.client.delete(
        f"{ORGS}/{org['id']}/members/{second_member['user_id']}", headers=first
    )
    assert r.status_code == 204
    # the same token, still unexpired, no longer grants the membership
    r = await api.client.get(f"{ORGS}/{org['id']}", headers=second)
    assert_problem(r, 404, "organization_not_found")
    me = (await api.client.get("/api/v1/me", headers=second)).json()
    assert me["memberships"] == []


async def test_the_last_admin_stays(api: Api) -> None:
    org = await api.organization()
    member, admin = await api.member(org["id"], role="admin")
    r = await api.client.delete(f"{ORGS}/{org['id']}/members/{member['user_id']}", headers=admin)
    assert_problem(r, 409, "last_admin")
    r = await api.client.patch(
        f"{ORGS}/{org['id']}/members/{member['user_id']}", json={"role": "staff"}, headers=admin
    )
    assert_problem(r, 409, "last_admin")
    other, _ = await api.member(org["id"], role="staff")
    r = await api.client.patch(
        f"{ORGS}/{org['id']}/members/{other['user_id']}", json={"role": "admin"}, headers=admin
    )
    assert r.status_code == 200
    assert r.json()["role"] == "admin"


async def test_network_admin_adds_associations(api: Api) -> None:
    network = await api.organization("network")
    association = await api.organization("association")
    buyer = await api.organization("buyer")
    _, net_admin = await api.member(network["id"], role="admin")
    _, net_staff = await api.member(network["id"], role="staff")
    _, assoc_admin = await api.member(association["id"], role="admin")
    url = f"/api/v1/networks/{network['id']}/associations"

    # the network admin cannot see the association before it joins
    r = await api.client.get(f"{ORGS}/{association['id']}", headers=net_admin)
    assert_problem(r, 404, "organization_not_found")

    r = await api.client.post(url, json={"association_id": association["id"]}, headers=net_staff)
    assert_problem(r, 403, "insufficient_role")
    r = await api.client.post(url, json={"association_id": association["id"]}, headers=assoc_admin)
    assert_problem(r, 404, "network_not_found")
    r = await api.client.post(url, json={"association_id": buyer["id"]}, headers=net_admin)
    assert_problem(r, 422, "not_an_association")

    # the network admin invites; the association joins when its own admin accepts
    r = await api.client.post(url, json={"association_id": association["id"]}, headers=net_admin)
    assert r.status_code == 202, r.text
    invitation = r.json()
    assert invitation["status"] == "pending"
    assert (await api.client.get(url, headers=net_staff)).json()["items"] == []
    r = await api.client.post(
        f"/api/v1/network-invitations/{invitation['invitation_id']}/accept", headers=assoc_admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["association_name"] == association["name"]
    r = await api.client.post(url, json={"association_id": association["id"]}, headers=net_admin)
    assert_problem(r, 409, "already_in_network")

    listed = (await api.client.get(url, headers=net_staff)).json()
    assert [a["association_id"] for a in listed["items"]] == [association["id"]]
    # now the network sees its association, and the association sees its network
    assert (
        await api.client.get(f"{ORGS}/{association['id']}", headers=net_admin)
    ).status_code == 200
    assert (await api.client.get(f"{ORGS}/{network['id']}", headers=assoc_admin)).status_code == 200

    # a path id that is not a network
    r = await api.client.post(
        f"/api/v1/networks/{association['id']}/associations",
        json={"association_id": association["id"]},
        headers=assoc_admin,
    )
    assert_problem(r, 404, "network_not_found")


async def test_pagination_walks_every_row_once(api: Api) -> None:
    created = [(await api.organization("buyer"))["id"] for _ in range(5)]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, "kind": "buyer"}
        if cursor:
            params["cursor"] = cursor
        r = await api.client.get(ORGS, params=params, headers=await api.admin())
        assert r.status_code == 200
        page = r.json()
        seen += [o["id"] for o in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == created  # time-ordered ids: creation order, no gaps, no repeats
    assert pages == 3
    r = await api.client.get(ORGS, params={"limit": 201}, headers=await api.admin())
    assert_problem(r, 422, "validation_error")
    r = await api.client.get(ORGS, params={"cursor": "%%%"}, headers=await api.admin())
    assert_problem(r, 422, "validation_error")


async def test_changes_go_to_the_audit_trail(api: Api) -> None:
    org = await api.organization()
    member, admin = await api.member(org["id"], role="admin")
    _, staff = await api.member(org["id"], role="staff")
    r = await api.client.get(
        "/api/v1/audit-events", params={"organization_id": org["id"]}, headers=admin
    )
    assert r.status_code == 200
    events = r.json()["items"]
    actions = [e["action"] for e in events]
    assert actions == ["organization.create", "member.add", "member.add"]
    admin_me = (await api.client.get("/api/v1/me", headers=await api.admin())).json()
    assert all(e["actor_user_id"] == admin_me["id"] for e in events)
    assert events[1]["changes"]["role"] == [None, "admin"]
    assert "password" not in str(events)
    r = await api.client.get(
        "/api/v1/audit-events", params={"organization_id": org["id"]}, headers=staff
    )
    assert_problem(r, 403, "insufficient_role")
    assert_problem(
        await api.client.get("/api/v1/audit-events", headers=admin), 403, "platform_admin_required"
    )
    everything = await api.client.get("/api/v1/audit-events", headers=await api.admin())
    assert len(everything.json()["items"]) == 3
    assert member["user_id"] in str(everything.json())

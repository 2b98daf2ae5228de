"""Invitations (issue 11, findings 6 and 10): adding a member never reveals or links an
existing account, and an association joins a network only when its own admin accepts."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from app.accounts import invitations, network_invitations
from app.accounts.models import MemberInvitation, Membership, NetworkAssociation
from app.core.security import hash_password
from tests.brands.conftest import build_network
from tests.utils import PASSWORD, Api, assert_problem

ORGS = "/api/v1/organizations"
STEP = 10.0  # seconds: the bound on every wait in the race tests; a miss fails, never hangs

on_postgresql = pytest.mark.skipif(
    not os.environ.get("MINGA_TEST_DATABASE_URL"),
    reason="the race needs PostgreSQL row locks; SQLite runs one writer at a time",
)

# what differs between two invitations by nature: their ids, tokens, addressees and times
OWN_FIELDS = {"id", "invitation_id", "token", "email", "created_at", "expires_at"}


async def invite(
    api: Api,
    organization_id: str,
    email: str,
    headers: dict[str, str],
    *,
    role: str = "staff",
    full_name: str = "Persona Invitada",
    password: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"email": email, "full_name": full_name, "role": role}
    if password is not None:
        body["password"] = password
    return await api.client.post(f"{ORGS}/{organization_id}/members", json=body, headers=headers)


async def existing_account(api: Api, email: str, full_name: str) -> dict[str, Any]:
    """A person with an account and a real name, member of an organisation of their own."""
    own = await api.organization("buyer")
    r = await invite(
        api, own["id"], email, await api.admin(), full_name=full_name, password=PASSWORD
    )
    assert r.status_code == 201, r.text
    member: dict[str, Any] = r.json()
    return member


@contextmanager
def statements(app: FastAPI) -> Iterator[list[str]]:
    """The SQL statements the app sends while the block runs (their text, not parameters)."""
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(args[2])  # (conn, cursor, statement, parameters, context, executemany)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def rows(app: FastAPI, stmt: Any) -> list[Any]:
    async with AsyncSession(app.state.engine) as session:
        return list((await session.execute(stmt)).all())


# --- members: the invitation tells nothing about accounts ----------------------------------


async def test_an_invitation_answers_and_works_alike_for_known_and_unknown_emails(
    api: Api, app: FastAPI
) -> None:
    victim = await existing_account(api, "rosa.quispe@minga.ec", "Rosa Quispe Real")
    org = await api.organization()
    _, admin = await api.member(org["id"], role="admin")

    with statements(app) as known_work:
        known = await invite(api, org["id"], "rosa.quispe@minga.ec", admin)
    with statements(app) as unknown_work:
        unknown = await invite(api, org["id"], "nadie.aun@minga.ec", admin)

    assert known.status_code == unknown.status_code == 202, (known.text, unknown.text)
    assert set(known.json()) == set(unknown.json())
    same = {k: v for k, v in known.json().items() if k not in OWN_FIELDS}
    assert same == {k: v for k, v in unknown.json().items() if k not in OWN_FIELDS}
    assert known.json()["status"] == "pending"
    assert known.json()["full_name"] == "Persona Invitada"  # the inviter's words, not hers
    assert "Rosa Quispe Real" not in known.text
    assert victim["user_id"] not in known.text
    assert known.json()["invitation_id"] == known.json()["id"]
    assert known.json()["token"] != unknown.json()["token"]
    # the same work: the very same statements, and none of them looks an account up
    assert known_work == unknown_work
    assert not [s for s in known_work if "FROM users WHERE" in s]
    # nothing linked: the organisation still has its admin alone
    members = (await api.client.get(f"{ORGS}/{org['id']}/members", headers=admin)).json()
    assert [m["role"] for m in members["items"]] == ["admin"]


async def test_the_password_form_links_no_existing_account_and_shows_no_name(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    victim = await existing_account(api, "rosa.quispe@minga.ec", "Rosa Quispe Real")
    org = await api.organization()
    _, admin = await api.member(org["id"], role="admin")
    hashed: list[str] = []

    def counting_hash(password: str) -> str:
        hashed.append(password)
        return hash_password(password)

    monkeypatch.setattr(invitations, "hash_password", counting_hash)
    taken = "someone-elses-pass-9"
    r = await invite(
        api, org["id"], "rosa.quispe@minga.ec", admin, full_name="Quien Sea", password=taken
    )
    assert r.status_code == 202, r.text
    assert hashed == [taken]  # the password was hashed as for a new account
    pure = await invite(api, org["id"], "otra.persona@minga.ec", admin)
    assert set(r.json()) == set(pure.json())  # the invitation, in the same shape
    assert r.json()["full_name"] == "Quien Sea"
    assert "Rosa Quispe Real" not in r.text
    assert victim["user_id"] not in r.text

    members = (await api.client.get(f"{ORGS}/{org['id']}/members", headers=admin)).json()
    assert [m["role"] for m in members["items"]] == ["admin"]
    assert "rosa.quispe@minga.ec" not in str(members)
    # her account is untouched: her password still logs in, the admin's does not
    await api.login("rosa.quispe@minga.ec")
    r = await api.client.post(
        "/api/v1/auth/token", data={"username": "rosa.quispe@minga.ec", "password": taken}
    )
    assert_problem(r, 401, "invalid_credentials")

    # a new e-mail still gets its account at once, as before (and the same hashing work);
    # an invitation pending for it is closed
    earlier = await invite(api, org["id"], "nueva@minga.ec", admin)
    hashed.clear()
    r = await invite(api, org["id"], "nueva@minga.ec", admin, full_name="Nueva", password=taken)
    assert r.status_code == 201, r.text
    assert hashed == [taken]
    assert r.json()["full_name"] == "Nueva"
    await api.login("nueva@minga.ec", taken)
    listed = (await api.client.get(f"{ORGS}/{org['id']}/invitations", headers=admin)).json()
    statuses = {i["id"]: i["status"] for i in listed["items"]}
    assert statuses[earlier.json()["id"]] == "revoked"


async def test_an_account_made_at_the_same_moment_is_not_linked_either(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The password form's look-up can miss an account made just after it: the insert then
    meets the unique e-mail, and the answer is the invitation all the same."""
    victim = await existing_account(api, "rosa.quispe@minga.ec", "Rosa Quispe Real")
    org = await api.organization()
    _, admin = await api.member(org["id"], role="admin")

    async def missed(*_: Any) -> bool:
        return False

    monkeypatch.setattr(invitations, "account_exists", missed)
    r = await invite(
        api, org["id"], "rosa.quispe@minga.ec", admin, full_name="Quien Sea", password=PASSWORD
    )
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "pending"
    assert victim["user_id"] not in r.text
    members = (await api.client.get(f"{ORGS}/{org['id']}/members", headers=admin)).json()
    assert [m["role"] for m in members["items"]] == ["admin"]


async def test_the_invited_person_logs_in_and_accepts(api: Api) -> None:
    victim = await existing_account(api, "rosa.quispe@minga.ec", "Rosa Quispe Real")
    org = await api.organization(name="Asociación Mulaló")
    _, admin = await api.member(org["id"], role="admin")
    invitation = (await invite(api, org["id"], "Rosa.Quispe@minga.ec", admin, role="admin")).json()
    assert invitation["email"] == "rosa.quispe@minga.ec"
    rosa = await api.login("rosa.quispe@minga.ec")

    mine = (await api.client.get("/api/v1/me/invitations", headers=rosa)).json()
    assert [(i["id"], i["organization_name"]) for i in mine["items"]] == [
        (invitation["id"], "Asociación Mulaló")
    ]
    assert "token" not in mine["items"][0]
    r = await api.client.post(f"/api/v1/invitations/{invitation['id']}/accept", headers=rosa)
    assert r.status_code == 200, r.text
    member = r.json()
    assert (member["user_id"], member["role"], member["full_name"]) == (
        victim["user_id"],
        "admin",
        "Rosa Quispe Real",  # her own name: the inviter's wording never renames an account
    )
    me = (await api.client.get("/api/v1/me", headers=rosa)).json()
    assert {(m["organization_id"], m["role"]) for m in me["memberships"]} >= {(org["id"], "admin")}
    # single use
    r = await api.client.post(f"/api/v1/invitations/{invitation['id']}/accept", headers=rosa)
    assert_problem(r, 409, "invitation_not_pending")
    assert (await api.client.get("/api/v1/me/invitations", headers=rosa)).json()["items"] == []
    listed = (await api.client.get(f"{ORGS}/{org['id']}/invitations", headers=admin)).json()
    assert [i["status"] for i in listed["items"]] == ["accepted"]

    trail = await api.client.get(
        "/api/v1/audit-events", params={"organization_id": org["id"]}, headers=admin
    )
    events = trail.json()["items"]
    # ids order events by the millisecond: the two of one acceptance may come either way
    assert events[-3]["action"] == "member_invitation.create"
    assert {e["action"] for e in events[-2:]} == {"member_invitation.accept", "member.add"}
    assert {e["actor_user_id"] for e in events[-2:]} == {victim["user_id"]}
    assert "token" not in str(trail.json())


async def test_nobody_else_can_accept_or_even_see_an_invitation(api: Api) -> None:
    await existing_account(api, "rosa.quispe@minga.ec", "Rosa Quispe Real")
    org = await api.organization()
    _, admin = await api.member(org["id"], role="admin")
    _, staff = await api.member(org["id"], role="staff")
    invitation = (await invite(api, org["id"], "rosa.quispe@minga.ec", admin)).json()
    other = await existing_account(api, "juan.otro@minga.ec", "Juan Otro")
    juan = await api.login(other["email"])

    for headers in (juan, admin, await api.admin()):
        for verb in ("accept", "decline"):
            r = await api.client.post(
                f"/api/v1/invitations/{invitation['id']}/{verb}", headers=headers
            )
            assert_problem(r, 404, "invitation_not_found")
        mine = (await api.client.get("/api/v1/me/invitations", headers=headers)).json()
        assert mine["items"] == []
    # staff of the organisation neither list nor revoke its invitations
    r = await api.client.get(f"{ORGS}/{org['id']}/invitations", headers=staff)
    assert_problem(r, 403, "insufficient_role")
    r = await api.client.delete(f"{ORGS}/{org['id']}/invitations/{invitation['id']}", headers=staff)
    assert_problem(r, 403, "insufficient_role")
    # and the token cannot make an account for another e-mail: it has no e-mail to give
    r = await api.client.post(
        "/api/v1/invitations/accept",
        json={"token": invitation["token"], "password": PASSWORD, "email": "juan.otro@minga.ec"},
    )
    assert_problem(r, 422, "validation_error")
    # still there for Rosa
    rosa = await api.login("rosa.quispe@minga.ec")
    r = await api.client.post(f"/api/v1/invitations/{invitation['id']}/accept", headers=rosa)
    assert r.status_code == 200, r.text


async def test_the_token_makes_the_invited_account_once(api: Api) -> None:
    org = await api.organization()
    _, admin = await api.member(org["id"], role="admin")
    invitation = (
        await invite(api, org["id"], "maria.nueva@minga.ec", admin, full_name="María")
    ).json()
    url = "/api/v1/invitations/accept"

    r = await api.client.post(url, json={"token": invitation["token"], "password": "maria.nueva1"})
    assert_problem(r, 422, "weak_password")  # the account's e-mail in it: the usual policy
    r = await api.client.post(url, json={"token": "x" * 43, "password": PASSWORD})
    assert_problem(r, 404, "invitation_not_found")

    body = {"token": invitation["token"], "password": PASSWORD, "full_name": "María Chiluisa"}
    r = await api.client.post(url, json=body)
    assert r.status_code == 200, r.text
    assert (r.json()["email"], r.json()["full_name"], r.json()["role"]) == (
        "maria.nueva@minga.ec",
        "María Chiluisa",
        "staff",
    )
    maria = await api.login("maria.nueva@minga.ec")
    me = (await api.client.get("/api/v1/me", headers=maria)).json()
    assert [m["organization_id"] for m in me["memberships"]] == [org["id"]]

    r = await api.client.post(url, json={**body, "password": "another-good-one-7"})
    assert_problem(r, 409, "invitation_not_pending")
    await api.login("maria.nueva@minga.ec")  # the first password still stands


async def test_the_token_never_takes_over_an_existing_account(api: Api) -> None:
    victim = await existing_account(api, "rosa.quispe@minga.ec", "Rosa Quispe Real")
    org = await api.organization()
    _, admin = await api.member(org["id"], role="admin")
    invitation = (await invite(api, org["id"], "rosa.quispe@minga.ec", admin)).json()

    taken = "the-inviters-pass-3"
    r = await api.client.post(
        "/api/v1/invitations/accept",
        json={"token": invitation["token"], "password": taken, "full_name": "Impostor"},
    )
    assert_problem(r, 409, "invitation_login_required")
    r = await api.client.post(
        "/api/v1/auth/token", data={"username": "rosa.quispe@minga.ec", "password": taken}
    )
    assert_problem(r, 401, "invalid_credentials")
    rosa = await api.login("rosa.quispe@minga.ec")
    me = (await api.client.get("/api/v1/me", headers=rosa)).json()
    assert me["full_name"] == "Rosa Quispe Real"
    assert org["id"] not in {m["organization_id"] for m in me["memberships"]}
    # the invitation waits for her
    r = await api.client.post(f"/api/v1/invitations/{invitation['id']}/accept", headers=rosa)
    assert r.status_code == 200, r.text
    assert r.json()["user_id"] == victim["user_id"]


async def test_an_invitation_expires(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    await existing_account(api, "rosa.quispe@minga.ec", "Rosa Quispe Real")
    org = await api.organization()
    _, admin = await api.member(org["id"], role="admin")
    rosa = await api.login("rosa.quispe@minga.ec")
    invitation = (await invite(api, org["id"], "rosa.quispe@minga.ec", admin)).json()
    expires_at = datetime.fromisoformat(invitation["expires_at"])
    assert expires_at - datetime.fromisoformat(invitation["created_at"]) == timedelta(days=7)

    later = expires_at + timedelta(seconds=1)
    monkeypatch.setattr(invitations, "utcnow", lambda: later)
    r = await api.client.post(f"/api/v1/invitations/{invitation['id']}/accept", headers=rosa)
    assert_problem(r, 409, "invitation_expired")
    r = await api.client.post(
        "/api/v1/invitations/accept", json={"token": invitation["token"], "password": PASSWORD}
    )
    assert_problem(r, 409, "invitation_expired")
    assert (await api.client.get("/api/v1/me/invitations", headers=rosa)).json()["items"] == []
    listed = await api.client.get(
        f"{ORGS}/{org['id']}/invitations", params={"status": "expired"}, headers=admin
    )
    assert [i["id"] for i in listed.json()["items"]] == [invitation["id"]]
    # an expired invitation gives way to a new one
    again = await invite(api, org["id"], "rosa.quispe@minga.ec", admin)
    assert again.status_code == 202, again.text
    r = await api.client.post(
        f"/api/v1/invitations/{again.json()['invitation_id']}/accept", headers=rosa
    )
    assert r.status_code == 200, r.text


async def test_one_pending_invitation_per_email_and_the_admin_revokes_it(api: Api) -> None:
    org = await api.organization()
    _, admin = await api.member(org["id"], role="admin")
    first = (await invite(api, org["id"], "luis@minga.ec", admin)).json()
    assert_problem(await invite(api, org["id"], "luis@minga.ec", admin), 409, "invitation_pending")
    pending = await api.client.get(
        f"{ORGS}/{org['id']}/invitations", params={"status": "pending"}, headers=admin
    )
    assert [i["id"] for i in pending.json()["items"]] == [first["id"]]

    url = f"{ORGS}/{org['id']}/invitations/{first['id']}"
    assert (await api.client.delete(url, headers=admin)).status_code == 204
    assert_problem(await api.client.delete(url, headers=admin), 409, "invitation_not_pending")
    r = await api.client.post(
        "/api/v1/invitations/accept", json={"token": first["token"], "password": PASSWORD}
    )
    assert_problem(r, 409, "invitation_not_pending")
    second = await invite(api, org["id"], "luis@minga.ec", admin)
    assert second.status_code == 202, second.text
    # someone already in the organisation is not invited again
    member, _ = await api.member(org["id"], role="staff")
    assert_problem(await invite(api, org["id"], member["email"], admin), 409, "already_member")
    # another organisation's admin cannot touch them
    other = await api.organization()
    _, stranger = await api.member(other["id"], role="admin")
    r = await api.client.delete(
        f"{ORGS}/{other['id']}/invitations/{second.json()['id']}", headers=stranger
    )
    assert_problem(r, 404, "invitation_not_found")
    r = await api.client.get(f"{ORGS}/{org['id']}/invitations", headers=stranger)
    assert_problem(r, 404, "organization_not_found")


async def test_the_invited_person_may_decline(api: Api) -> None:
    await existing_account(api, "rosa.quispe@minga.ec", "Rosa Quispe Real")
    org = await api.organization()
    _, admin = await api.member(org["id"], role="admin")
    invitation = (await invite(api, org["id"], "rosa.quispe@minga.ec", admin)).json()
    rosa = await api.login("rosa.quispe@minga.ec")
    r = await api.client.post(f"/api/v1/invitations/{invitation['id']}/decline", headers=rosa)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "declined"
    r = await api.client.post(f"/api/v1/invitations/{invitation['id']}/accept", headers=rosa)
    assert_problem(r, 409, "invitation_not_pending")
    members = (await api.client.get(f"{ORGS}/{org['id']}/members", headers=admin)).json()
    assert len(members["items"]) == 1


# --- networks: an association joins when its own admin agrees ------------------------------


async def test_a_network_admin_invites_and_the_association_admin_accepts(api: Api) -> None:
    net = await build_network(api)
    outsider = await api.organization(name="Asociación Vecina")
    _, outsider_admin = await api.member(outsider["id"], role="admin")
    _, outsider_staff = await api.member(outsider["id"], role="staff")
    product = await net.sheet(association_id=outsider["id"], headers=outsider_staff)
    sku = await net.sku()
    url = f"/api/v1/networks/{net.network['id']}/associations"

    r = await api.client.post(url, json={"association_id": outsider["id"]}, headers=net.admin)
    assert r.status_code == 202, r.text
    invitation = r.json()
    assert (invitation["status"], invitation["invitation_id"]) == ("pending", invitation["id"])
    assert (invitation["network_name"], invitation["association_name"]) == (
        net.network["name"],
        "Asociación Vecina",
    )
    r = await api.client.post(url, json={"association_id": outsider["id"]}, headers=net.admin)
    assert_problem(r, 409, "network_invitation_pending")

    # before it accepts, the network can do nothing with it
    r = await api.client.get(f"{ORGS}/{outsider['id']}", headers=net.admin)
    assert_problem(r, 404, "organization_not_found")
    listed = (await api.client.get(f"{ORGS}", headers=net.admin)).json()
    assert outsider["id"] not in {o["id"] for o in listed["items"]}
    members = (await api.client.get(url, headers=net.admin)).json()
    assert outsider["id"] not in {a["association_id"] for a in members["items"]}
    r = await api.client.post(
        f"/api/v1/brands/{net.brand['id']}/licenses",
        json={"association_id": outsider["id"]},
        headers=net.admin,
    )
    assert_problem(r, 422, "not_in_network")
    body = assert_problem(await net.approve(sku["id"], product["id"]), 422, "supplier_rules_failed")
    assert "not_licensed" in {e["rule"] for e in body["errors"]}

    # both sides see it pending
    sent = await api.client.get(
        f"/api/v1/networks/{net.network['id']}/invitations", headers=net.admin
    )
    assert [i["id"] for i in sent.json()["items"]] == [invitation["id"]]
    received = await api.client.get(
        f"{ORGS}/{outsider['id']}/network-invitations",
        params={"status": "pending"},
        headers=outsider_admin,
    )
    assert [(i["id"], i["network_name"]) for i in received.json()["items"]] == [
        (invitation["id"], net.network["name"])
    ]
    r = await api.client.get(f"{ORGS}/{outsider['id']}/network-invitations", headers=outsider_staff)
    assert_problem(r, 403, "insufficient_role")

    # only the association's admin answers for it
    accept = f"/api/v1/network-invitations/{invitation['id']}/accept"
    assert_problem(await api.client.post(accept, headers=net.admin), 403, "insufficient_role")
    assert_problem(await api.client.post(accept, headers=outsider_staff), 403, "insufficient_role")
    assert_problem(
        await api.client.post(accept, headers=net.association_staff),
        404,
        "network_invitation_not_found",
    )
    r = await api.client.post(accept, headers=outsider_admin)
    assert r.status_code == 200, r.text
    assert (r.json()["network_id"], r.json()["association_id"]) == (
        net.network["id"],
        outsider["id"],
    )
    assert_problem(
        await api.client.post(accept, headers=outsider_admin), 409, "invitation_not_pending"
    )

    # now it is the network's: seen, licensed, approved as a supplier
    assert (await api.client.get(f"{ORGS}/{outsider['id']}", headers=net.admin)).status_code == 200
    await net.license_for(outsider["id"])
    r = await net.approve(sku["id"], product["id"])
    assert r.status_code == 201, r.text

    network_trail = await api.client.get(
        "/api/v1/audit-events", params={"organization_id": net.network["id"]}, headers=net.admin
    )
    actions = [e["action"] for e in network_trail.json()["items"]]
    since = actions[actions.index("network_invitation.create") :]
    assert {"network.association_add", "license.grant"} <= set(since)
    own_trail = await api.client.get(
        "/api/v1/audit-events", params={"organization_id": outsider["id"]}, headers=outsider_admin
    )
    assert "network_invitation.accept" in [e["action"] for e in own_trail.json()["items"]]


async def test_a_platform_admin_or_an_admin_of_both_joins_at_once(api: Api) -> None:
    network = await api.organization("network")
    first, second, third = [await api.organization() for _ in range(3)]
    both, net_admin = await api.member(network["id"], role="admin")
    url = f"/api/v1/networks/{network['id']}/associations"

    r = await api.client.post(url, json={"association_id": first["id"]}, headers=await api.admin())
    assert r.status_code == 201, r.text
    assert r.json()["association_id"] == first["id"]

    # the network's admin becomes an admin of the second association too (by invitation)
    invitation = await invite(api, second["id"], both["email"], await api.admin(), role="admin")
    r = await api.client.post(
        f"/api/v1/invitations/{invitation.json()['id']}/accept", headers=net_admin
    )
    assert r.status_code == 200, r.text
    r = await api.client.post(url, json={"association_id": second["id"]}, headers=net_admin)
    assert r.status_code == 201, r.text

    # a pending invitation is closed when the association joins directly
    pending = await api.client.post(url, json={"association_id": third["id"]}, headers=net_admin)
    assert pending.status_code == 202, pending.text
    r = await api.client.post(url, json={"association_id": third["id"]}, headers=await api.admin())
    assert r.status_code == 201, r.text
    r = await api.client.post(
        f"/api/v1/network-invitations/{pending.json()['id']}/accept", headers=await api.admin()
    )
    assert_problem(r, 409, "invitation_not_pending")
    listed = (await api.client.get(url, headers=net_admin)).json()
    assert {a["association_id"] for a in listed["items"]} == {
        first["id"],
        second["id"],
        third["id"],
    }


async def test_an_association_declines_and_a_network_withdraws(api: Api) -> None:
    network = await api.organization("network")
    association = await api.organization()
    _, net_admin = await api.member(network["id"], role="admin")
    _, assoc_admin = await api.member(association["id"], role="admin")
    url = f"/api/v1/networks/{network['id']}/associations"
    body = {"association_id": association["id"]}

    declined = (await api.client.post(url, json=body, headers=net_admin)).json()
    r = await api.client.post(
        f"/api/v1/network-invitations/{declined['id']}/decline", headers=net_admin
    )
    assert_problem(r, 403, "insufficient_role")
    r = await api.client.post(
        f"/api/v1/network-invitations/{declined['id']}/decline", headers=assoc_admin
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "declined"
    assert (await api.client.get(url, headers=net_admin)).json()["items"] == []

    withdrawn = await api.client.post(url, json=body, headers=net_admin)  # asking again is fine
    assert withdrawn.status_code == 202, withdrawn.text
    revoke = f"/api/v1/network-invitations/{withdrawn.json()['id']}"
    assert_problem(await api.client.delete(revoke, headers=assoc_admin), 403, "insufficient_role")
    assert (await api.client.delete(revoke, headers=net_admin)).status_code == 204
    r = await api.client.post(f"{revoke}/accept", headers=assoc_admin)
    assert_problem(r, 409, "invitation_not_pending")
    statuses = await api.client.get(
        f"/api/v1/networks/{network['id']}/invitations", headers=net_admin
    )
    assert [i["status"] for i in statuses.json()["items"]] == ["declined", "revoked"]
    assert (await api.client.get(url, headers=net_admin)).json()["items"] == []


# --- two acceptances at once ---------------------------------------------------------------


class Meeting:
    """Holds each caller until ``size`` of them have arrived: both acceptances have read the
    invitation as pending before either changes it."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.arrived = 0
        self.everyone = asyncio.Event()

    async def arrive(self) -> None:
        self.arrived += 1
        if self.arrived == self.size:
            self.everyone.set()
        await asyncio.wait_for(self.everyone.wait(), STEP)


@pytest.mark.postgres
@on_postgresql
async def test_two_acceptances_of_a_network_invitation_at_once_make_one_membership(
    api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.state.engine.dialect.name == "postgresql"
    network = await api.organization("network")
    association = await api.organization()
    _, net_admin = await api.member(network["id"], role="admin")
    _, first_admin = await api.member(association["id"], role="admin")
    _, second_admin = await api.member(association["id"], role="admin")
    r = await api.client.post(
        f"/api/v1/networks/{network['id']}/associations",
        json={"association_id": association["id"]},
        headers=net_admin,
    )
    accept = f"/api/v1/network-invitations/{r.json()['id']}/accept"
    meeting = Meeting(2)
    real_close = network_invitations._close

    async def close_together(*args: Any) -> None:
        await meeting.arrive()
        await real_close(*args)

    monkeypatch.setattr(network_invitations, "_close", close_together)
    answers = await asyncio.wait_for(
        asyncio.gather(
            api.client.post(accept, headers=first_admin),
            api.client.post(accept, headers=second_admin),
        ),
        2 * STEP,
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    assert_problem(next(a for a in answers if a.status_code == 409), 409, "invitation_not_pending")
    links = await rows(
        app,
        select(func.count())
        .select_from(NetworkAssociation)
        .where(NetworkAssociation.association_id == association["id"]),
    )
    assert links == [(1,)]


@pytest.mark.postgres
@on_postgresql
async def test_two_acceptances_of_a_member_invitation_at_once_make_one_membership(
    api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert app.state.engine.dialect.name == "postgresql"
    await existing_account(api, "rosa.quispe@minga.ec", "Rosa Quispe Real")
    org = await api.organization()
    _, admin = await api.member(org["id"], role="admin")
    invitation = (await invite(api, org["id"], "rosa.quispe@minga.ec", admin)).json()
    rosa = await api.login("rosa.quispe@minga.ec")
    accept = f"/api/v1/invitations/{invitation['id']}/accept"
    meeting = Meeting(2)
    real_close = invitations._close

    async def close_together(*args: Any, **kwargs: Any) -> None:
        await meeting.arrive()
        await real_close(*args, **kwargs)

    monkeypatch.setattr(invitations, "_close", close_together)
    answers = await asyncio.wait_for(
        asyncio.gather(
            api.client.post(accept, headers=rosa), api.client.post(accept, headers=rosa)
        ),
        2 * STEP,
    )
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    memberships = await rows(
        app,
        select(func.count()).select_from(Membership).where(Membership.organization_id == org["id"]),
    )
    assert memberships == [(2,)]  # the admin and Rosa, once
    status = await rows(
        app, select(col(MemberInvitation.status)).where(MemberInvitation.id == invitation["id"])
    )
    assert status == [("accepted",)]

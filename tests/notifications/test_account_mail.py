"""Account e-mails: a forgotten password, a new address, an invitation, each a single-use
link mailed to the person; the reset says nothing about which addresses have accounts."""

from __future__ import annotations

import asyncio
import re
import statistics
import time
from urllib.parse import parse_qs, urlparse

from fastapi import FastAPI

from tests.utils import PASSWORD, Api, assert_problem, bearer
from tests.utils.jobs import drain
from tests.utils.queries import count_statements
from tests.utils.smtp import Mailbox, text_of

NEW_PASSWORD = "quesillo-de-hoja-2026"


def _token(mailbox: Mailbox, address: str, kind: str) -> str:
    [message] = mailbox.to(address, kind)
    link = re.search(r"https?://\S+", text_of(message))
    assert link is not None, text_of(message)
    return parse_qs(urlparse(link.group(0)).query)["token"][0]


async def test_a_password_reset_round_trip(app: FastAPI, api: Api, mailbox: Mailbox) -> None:
    org = await api.organization()
    member, old_login = await api.member(org["id"], role="staff", email="rosa@chugchilan.ec")
    await asyncio.sleep(1.1)  # tokens count in whole seconds: the reset is a later one
    r = await api.client.post("/api/v1/auth/password-reset", json={"email": "Rosa@Chugchilan.ec"})
    assert r.status_code == 202, r.text
    assert r.content == b""
    await drain(app)
    [message] = mailbox.to("rosa@chugchilan.ec", "password_reset")
    assert message["Subject"] == "Elija una nueva contraseña de Minga"  # Ecuador: Spanish
    token = _token(mailbox, "rosa@chugchilan.ec", "password_reset")

    url = "/api/v1/auth/password-reset/confirm"
    assert_problem(
        await api.client.post(url, json={"token": token, "new_password": "password"}),
        422,
        "weak_password",
    )  # a weak choice does not spend the link
    r = await api.client.post(url, json={"token": token, "new_password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    assert (await api.client.get("/api/v1/me", headers=bearer(r.json()["access_token"]))).is_success
    # every earlier session ended; the new password logs in, the old one does not
    assert_problem(await api.client.get("/api/v1/me", headers=old_login), 401, "invalid_token")
    assert (await api.login("rosa@chugchilan.ec", NEW_PASSWORD))["Authorization"]
    r = await api.client.post(
        "/api/v1/auth/token", data={"username": "rosa@chugchilan.ec", "password": PASSWORD}
    )
    assert r.status_code == 401
    # the link works once
    r = await api.client.post(url, json={"token": token, "new_password": NEW_PASSWORD + "x"})
    assert_problem(r, 422, "account_token_invalid")
    assert_problem(
        await api.client.post(url, json={"token": "x" * 43, "new_password": NEW_PASSWORD}),
        422,
        "account_token_invalid",
    )
    assert member["email"] == "rosa@chugchilan.ec"


async def test_a_reset_says_nothing_about_which_addresses_have_accounts(
    app: FastAPI, api: Api, mailbox: Mailbox
) -> None:
    org = await api.organization()
    await api.member(org["id"], role="staff", email="known@pujili.ec")
    url = "/api/v1/auth/password-reset"
    # the same statements for both (the lookup is the job's, after the answer)
    counts = {}
    for email in ("known@pujili.ec", "nobody@pujili.ec"):
        with count_statements(app) as statements:
            r = await api.client.post(url, json={"email": email})
        assert r.status_code == 202, r.text
        counts[email] = [s.split()[0] for s in statements]
    assert counts["known@pujili.ec"] == counts["nobody@pujili.ec"]
    # and the same time, measured interleaved (the medians of 8 each, loosely)
    times: dict[str, list[float]] = {"known@pujili.ec": [], "nobody@pujili.ec": []}
    for _ in range(4):
        for email in times:
            start = time.perf_counter()
            r = await api.client.post(url, json={"email": email}, headers={"X-Try": "1"})
            times[email].append(time.perf_counter() - start)
            assert r.status_code in (202, 429), r.text
    known, unknown = (statistics.median(v) for v in times.values())
    assert 0.33 < known / unknown < 3, times
    await drain(app)
    assert mailbox.to("nobody@pujili.ec") == []
    assert len(mailbox.to("known@pujili.ec", "password_reset")) >= 1


async def test_resets_are_throttled_for_any_address(app: FastAPI, api: Api) -> None:
    url = "/api/v1/auth/password-reset"
    limit = app.state.settings.password_reset_per_hour
    for _ in range(limit):
        assert (await api.client.post(url, json={"email": "nadie@latacunga.ec"})).status_code == 202
    r = await api.client.post(url, json={"email": "nadie@latacunga.ec"})
    problem = assert_problem(r, 429, "password_reset_throttled")
    assert int(r.headers["Retry-After"]) > 0
    assert problem["status"] == 429
    # another address is not held back by that one
    assert (await api.client.post(url, json={"email": "otra@latacunga.ec"})).status_code == 202


async def test_a_new_address_is_confirmed_from_a_link_sent_to_it(
    app: FastAPI, api: Api, mailbox: Mailbox
) -> None:
    org = await api.organization()
    _, login = await api.member(org["id"], role="staff", email="ana@saquisili.ec")
    r = await api.client.post(
        "/api/v1/me/email",
        json={"new_email": "ana.toapanta@saquisili.ec", "current_password": "not-it"},
        headers=login,
    )
    assert_problem(r, 422, "current_password_wrong")
    r = await api.client.post(
        "/api/v1/me/email",
        json={"new_email": "Ana.Toapanta@saquisili.ec", "current_password": PASSWORD},
        headers=login,
    )
    assert r.status_code == 202, r.text
    await drain(app)
    assert (await api.client.get("/api/v1/me", headers=login)).json()["email"] == "ana@saquisili.ec"
    token = _token(mailbox, "ana.toapanta@saquisili.ec", "email_change")
    r = await api.client.post("/api/v1/me/email/confirm", json={"token": token})
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "ana.toapanta@saquisili.ec"
    assert (await api.login("ana.toapanta@saquisili.ec"))["Authorization"]
    r = await api.client.post("/api/v1/me/email/confirm", json={"token": token})
    assert_problem(r, 422, "account_token_invalid")


async def test_an_invitation_is_mailed_with_its_link(
    app: FastAPI, api: Api, mailbox: Mailbox
) -> None:
    org = await api.organization(name="Asociación Sumak Kawsay")
    _, admin = await api.member(org["id"], role="admin")
    r = await api.client.post(
        f"/api/v1/organizations/{org['id']}/members",
        json={"email": "lucia@sigchos.ec", "full_name": "Lucía Pilatasig", "role": "staff"},
        headers=admin,
    )
    assert r.status_code == 202, r.text
    await drain(app)
    [message] = mailbox.to("lucia@sigchos.ec", "invitation")
    assert "Asociación Sumak Kawsay" in message["Subject"]
    token = _token(mailbox, "lucia@sigchos.ec", "invitation")
    r = await api.client.post(
        "/api/v1/invitations/accept",
        json={"token": token, "password": NEW_PASSWORD, "full_name": "Lucía Pilatasig"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["email"] == "lucia@sigchos.ec"

"""Login throttling counts the attempt before it checks the password, and locks per account
and address: an attacker can neither out-race the limit nor lock the owner out."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import authentication, throttle
from app.cli import forwarded_allow_ips
from app.core.config import Settings
from app.core.timeutil import utcnow
from tests.utils import PASSWORD, Api

on_postgresql = pytest.mark.skipif(
    not os.environ.get("MINGA_TEST_DATABASE_URL"),
    reason="concurrent logins need PostgreSQL (SQLite runs one writer at a time)",
)


@pytest.fixture
async def attacker(app: FastAPI, client: httpx.AsyncClient) -> AsyncIterator[httpx.AsyncClient]:
    """A client at another address than the test client (ASGI ``client`` scope)."""
    transport = httpx.ASGITransport(app=app, client=("203.0.113.66", 4444))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def _login(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    return await http.post("/api/v1/auth/token", data={"username": email, "password": password})


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords whose hash was actually checked."""
    seen: list[str] = []
    real = authentication.verify_password

    def counting(password: str, hashed: str | None) -> bool:
        seen.append(password)
        return real(password, hashed)

    monkeypatch.setattr(authentication, "verify_password", counting)
    return seen


async def test_an_attacker_elsewhere_does_not_lock_the_owner_out(
    api: Api, client: httpx.AsyncClient, attacker: httpx.AsyncClient, checked: list[str]
) -> None:
    org = await api.organization("buyer", name="Restaurante La Cholita")
    user, _ = await api.member(org["id"], role="staff")
    checked.clear()  # the set-up's own logins
    for _ in range(5):
        assert (await _login(attacker, user["email"], "wrong-password-123")).status_code == 401
    blocked = await _login(attacker, user["email"], PASSWORD)
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert len(checked) == 5  # the sixth was not even checked
    # the owner, from their own address, still logs in
    assert (await _login(client, user["email"], PASSWORD)).status_code == 200


@pytest.mark.postgres
@on_postgresql
async def test_thirty_wrong_passwords_at_once_get_at_most_the_limit_checked(
    api: Api, attacker: httpx.AsyncClient, checked: list[str], settings: Settings
) -> None:
    org = await api.organization("buyer", name="Hotel Rodelu")
    user, _ = await api.member(org["id"], role="staff")
    checked.clear()  # the set-up's own logins
    answers = await asyncio.gather(
        *(_login(attacker, user["email"], f"wrong-{n}-password") for n in range(30))
    )
    codes = sorted(r.status_code for r in answers)
    limit = settings.login_max_failures_per_account
    assert codes.count(401) == len(checked) <= limit
    assert codes.count(429) == 30 - len(checked)


@pytest.mark.postgres
@on_postgresql
async def test_the_right_password_among_wrong_ones_does_not_slip_past_the_limit(
    api: Api, attacker: httpx.AsyncClient, checked: list[str], settings: Settings
) -> None:
    org = await api.organization("buyer", name="Cafetería Pujilí")
    user, _ = await api.member(org["id"], role="staff")
    checked.clear()  # the set-up's own logins
    guesses = [f"wrong-{n}-password" for n in range(29)] + [PASSWORD]
    answers = await asyncio.gather(*(_login(attacker, user["email"], g) for g in guesses))
    assert len(checked) <= settings.login_max_failures_per_account
    right = answers[-1]
    # it logs in only if it was one of the few attempts checked at all
    assert right.status_code == (200 if PASSWORD in checked else 429)


def test_forwarded_addresses_are_believed_only_from_named_proxies() -> None:
    assert forwarded_allow_ips(Settings(_env_file=None)) == ""  # type: ignore[call-arg]
    named = Settings(trusted_proxies=["10.0.0.5", "10.0.0.6"], _env_file=None)  # type: ignore[call-arg]
    assert forwarded_allow_ips(named) == "10.0.0.5,10.0.0.6"


async def test_a_good_login_does_not_forget_an_attempt_counted_after_it(
    api: Api, attacker: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The right password among wrong ones sent at once: a wrong one counted while the
    right one was being checked keeps the counter, so the burst gets no fresh limit."""
    org = await api.organization("buyer", name="Picantería Latacunga")
    user, _ = await api.member(org["id"], role="staff")
    pair = throttle.pair_key(user["email"], "203.0.113.66")
    real = throttle.succeeded

    async def with_one_counted_meanwhile(session: AsyncSession, **kwargs: Any) -> None:
        limit = throttle.Limit(pair, 5, timedelta(minutes=15))
        await throttle.take(session, [limit], now=utcnow())
        await real(session, **kwargs)

    monkeypatch.setattr(throttle, "succeeded", with_one_counted_meanwhile)
    assert (await _login(attacker, user["email"], PASSWORD)).status_code == 200
    monkeypatch.setattr(throttle, "succeeded", real)
    # the attempt counted meanwhile still counts: four more are checked, the fifth is not
    for _ in range(4):
        assert (await _login(attacker, user["email"], "wrong-password-123")).status_code == 401
    assert (await _login(attacker, user["email"], "wrong-password-123")).status_code == 429

"""Every error, the framework's own included, is an RFC 9457 problem with a stable code."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from app.core.config import DEFAULT_SECRET_KEY, Environment, Settings
from app.main import create_app
from tests.utils import Api, assert_problem


async def test_unknown_route_is_a_404_problem(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/v1/nothing-here"), 404, "not_found")
    assert body["instance"] == "/api/v1/nothing-here"
    assert body["request_id"]


async def test_wrong_method_is_a_405_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.delete("/api/v1/me"), 405, "method_not_allowed")


async def test_malformed_json_is_a_422_problem(api: Api) -> None:
    r = await api.client.post(
        "/api/v1/organizations",
        content=b'{"kind": "buyer",',
        headers={**(await api.admin()), "Content-Type": "application/json"},
    )
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"]


async def test_unknown_fields_are_refused(api: Api) -> None:
    org = await api.organization()
    r = await api.client.post(
        f"/api/v1/organizations/{org['id']}/members",
        json={
            "email": "a@minga.ec",
            "full_name": "A",
            "password": "long-enough-1",
            "role": "admin",
            "is_platform_admin": True,
        },
        headers=await api.admin(),
    )
    body = assert_problem(r, 422, "validation_error")
    assert body["errors"][0]["field"] == "is_platform_admin"


async def test_unexpected_errors_are_500_problems_without_traces(settings: Settings) -> None:
    app = create_app(settings)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        r = await client.get("/boom", headers={"X-Request-ID": "trace-me-1"})
    await app.state.engine.dispose()
    body = assert_problem(r, 500, "internal_error")
    assert body["request_id"] == "trace-me-1"
    assert "hunter2" not in r.text
    assert "Traceback" not in r.text


def test_production_refuses_the_default_secret() -> None:
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(
            environment=Environment.production,
            secret_key=DEFAULT_SECRET_KEY,
            _env_file=None,  # type: ignore[call-arg]
        )
    with pytest.raises(ValidationError, match="32 characters"):
        Settings(secret_key="short", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match="MINGA_PUBLIC_BASE_URL"):
        Settings(
            environment=Environment.production,
            secret_key="x" * 40,
            _env_file=None,  # type: ignore[call-arg]
        )
    ok = Settings(
        environment=Environment.production,
        secret_key="x" * 40,
        public_base_url="https://minga.example.org/",
        _env_file=None,  # type: ignore[call-arg]
    )
    assert ok.environment is Environment.production
    assert ok.public_base_url == "https://minga.example.org"


def test_production_needs_the_public_base_url() -> None:
    """The QR codes on labels point there: outside development there is no default."""
    with pytest.raises(ValidationError, match="MINGA_PUBLIC_BASE_URL"):
        Settings(
            environment=Environment.production,
            secret_key="x" * 40,
            _env_file=None,  # type: ignore[call-arg]
        )
    dev = Settings(_env_file=None)  # type: ignore[call-arg]
    assert dev.public_base_url == "http://127.0.0.1:8000"

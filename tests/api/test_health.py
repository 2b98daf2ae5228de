import httpx


async def test_healthz_and_readyz(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


async def test_docs_and_openapi_are_served(client: httpx.AsyncClient) -> None:
    r = await client.get("/docs")
    assert r.status_code == 200
    assert "swagger" in r.text.lower()
    schema = (await client.get("/api/v1/openapi.json")).json()
    assert "/api/v1/auth/token" in schema["paths"]
    created = schema["paths"]["/api/v1/organizations"]["post"]["responses"]
    assert {"201", "403", "409", "422"} <= set(created)


async def test_request_id_is_echoed_or_made(client: httpx.AsyncClient) -> None:
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    r = await client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["x-request-id"] != "bad id\twith spaces"
    assert len(r.headers["x-request-id"]) == 36

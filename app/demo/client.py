"""The demo's client of Minga's public HTTP API: every call is recorded as a step, and a
call that does not answer as expected stops the demo with the request and the answer."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

API = "/api/v1"
Headers = dict[str, str]


@dataclass(frozen=True)
class Step:
    method: str
    path: str
    status: int
    expected: int
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == self.expected


class DemoStepFailed(RuntimeError):
    """An API call answered something else than expected (the demo stops there)."""

    def __init__(
        self, method: str, path: str, body: Any, expected: int, response: httpx.Response
    ) -> None:
        self.method, self.path, self.body = method, path, body
        self.expected, self.status, self.answer = expected, response.status_code, response.text
        super().__init__(
            f"{method} {API}{path} answered {response.status_code} (expected {expected})\n"
            f"request: {json.dumps(body, ensure_ascii=False, default=str)[:2000]}\n"
            f"response: {response.text[:4000]}"
        )


class DemoApi:
    """Thin helpers over an ``httpx.AsyncClient`` bound to the Minga app."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.steps: list[Step] = []

    async def call(
        self,
        method: str,
        path: str,
        who: Headers,
        *,
        json_body: Any = None,
        form: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        expect: int = 200,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Any:
        headers = {**who, **(extra_headers or {})}
        started = time.perf_counter()
        response = await self.client.request(
            method,
            f"{API}{path}",
            json=json_body,
            data=dict(form) if form is not None else None,
            params=dict(params) if params is not None else None,
            headers=headers,
        )
        seconds = time.perf_counter() - started
        self.steps.append(Step(method, path, response.status_code, expect, seconds))
        if response.status_code != expect:
            shown = {"username": form.get("username")} if form is not None else json_body
            raise DemoStepFailed(method, path, shown, expect, response)
        return response.json() if response.content else None

    async def login(self, email: str, password: str) -> Headers:
        token = await self.call(
            "POST", "/auth/token", {}, form={"username": email, "password": password}
        )
        return {"Authorization": f"Bearer {token['access_token']}"}

    async def get(self, path: str, who: Headers, **params: str) -> Any:
        return await self.call("GET", path, who, params=params or None)

    async def post(
        self,
        path: str,
        who: Headers,
        body: Any = None,
        *,
        expect: int = 201,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Any:
        return await self.call(
            "POST", path, who, json_body=body, expect=expect, extra_headers=extra_headers
        )

    async def put(self, path: str, who: Headers, body: Any) -> Any:
        return await self.call("PUT", path, who, json_body=body)

    async def all_pages(self, path: str, who: Headers, **params: str) -> list[Any]:
        """Every item of a paginated list."""
        items: list[Any] = []
        cursor: str | None = None
        while True:
            query = {**params, "limit": "200", **({"cursor": cursor} if cursor else {})}
            page = await self.get(path, who, **query)
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return items

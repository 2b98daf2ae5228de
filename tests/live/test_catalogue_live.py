"""The catalogue's cached pages on ``minga serve --workers 2``: a change made through one
worker reaches the other's cache (its stamp listener), and orders leave both caches alone."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.brands.conftest import build_network
from tests.live import needs_postgresql
from tests.live.conftest import Live
from tests.live.helpers import no_server_error
from tests.orders.conftest import build_market

pytestmark = [pytest.mark.slow, pytest.mark.postgres, needs_postgresql]


async def _names(live: Live, headers: dict[str, str], n: int = 20) -> list[httpx.Response]:
    answers = await asyncio.gather(
        *(live.client.get("/api/v1/skus", headers=headers) for _ in range(n))
    )
    no_server_error(answers)
    return answers


async def test_both_workers_follow_a_catalogue_change_and_ignore_orders(live: Live) -> None:
    m = await build_market(await build_network(live.api))
    staff = m.buyer_staff
    before = await _names(live, staff)  # both workers build and keep the page
    assert {r.headers["ETag"] for r in before} == {before[0].headers["ETag"]}

    orders = await asyncio.gather(*(m.order("1") for _ in range(5)))
    assert [r.status_code for r in orders] == [201] * 5
    after_orders = await _names(live, staff)
    assert {r.content for r in after_orders} == {before[0].content}

    r = await m.client.patch(
        f"/api/v1/skus/{m.sku['id']}",
        json={"name": "Queso de hoja de Mulaló 500 g"},
        headers=m.net.admin,
    )
    assert r.status_code == 200, r.text
    # the other worker hears of the commit within moments (a NOTIFY sent on commit)
    for _ in range(100):
        answers = await _names(live, staff)
        names = {a.json()["items"][0]["name"] for a in answers}
        if names == {"Queso de hoja de Mulaló 500 g"}:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail(f"a worker kept the old page: {names}")
    # an anonymous visitor sees nothing until the network opens its window, on either worker
    anonymous = await _names(live, {})
    assert {tuple(a.json()["items"]) for a in anonymous} == {()}

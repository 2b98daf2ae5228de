"""CSV exports (issue 11): no cell a spreadsheet would run as a formula, and the whole result,
never one page of it, with the list's filters."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

import httpx
import pytest

from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market, market  # noqa: F401

FORMULA = '=HYPERLINK("http://x","y")'


def rows_of(r: httpx.Response) -> list[dict[str, str]]:
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.text.startswith("\ufeff")  # every export: UTF-8 with a BOM
    return list(csv.DictReader(io.StringIO(r.text.removeprefix("\ufeff"))))


async def _deliver_and_settle(m: Market) -> Floor:
    f = await Floor.start(m)
    await f.through_delivery()
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text
    return f


async def test_formulas_in_text_cells_are_neutralised(market: Market) -> None:  # noqa: F811
    m = market
    buyer = await m.api.organization("buyer", name="@SUM(1+1)*cmd|' /C calc'!A0")
    _, buyer_staff = await m.api.member(buyer["id"], role="staff")
    r = await m.order("7", purchase_order_number=FORMULA)
    assert r.status_code == 201, r.text
    r = await m.order("3", headers=buyer_staff, buyer_id=buyer["id"], purchase_order_number="-2+3")
    assert r.status_code == 201, r.text
    f = await _deliver_and_settle(m)

    invoices = rows_of(
        await m.client.get(
            "/api/v1/invoices.csv", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
        )
    )
    numbers = {row["purchase_order_number"] for row in invoices}
    assert numbers == {"'" + FORMULA, "'-2+3"}
    # numbers stay numbers: amounts are the application's own, never a formula
    assert sorted(int(row["total_cents"]) for row in invoices) == [3 * 400, 7 * 400]
    for row in invoices:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")), row

    # the pick list goes through the same writer (it had a guarded writer of its own)
    picks = [
        row
        for order in f.delivery_orders.values()
        for row in rows_of(
            await m.client.get(
                f"/api/v1/delivery-orders/{order['id']}/pick-list.csv", headers=f.staff
            )
        )
    ]
    assert "'" + buyer["name"] in {row["buyer"] for row in picks}

    payouts = rows_of(
        await m.client.get(f"/api/v1/cycles/{m.cycle['id']}/payouts.csv", headers=m.net.admin)
    )
    assert sum(int(row["amount_cents"]) for row in payouts) == 10 * 250


async def _orders(m: Market, count: int) -> list[dict[str, Any]]:
    placed = []
    for n in range(count):
        r = await m.order("1", purchase_order_number=f"OC-{n:04d}")
        assert r.status_code == 201, r.text
        placed.append(r.json())
    return placed


@pytest.mark.slow
async def test_the_invoice_export_has_every_invoice_not_one_page(
    market: Market,  # noqa: F811
) -> None:
    m = market
    started = time.monotonic()
    m.cycle = await m.new_cycle()
    await m.offer(m.cycle["id"], m.net.association["id"], "300", m.net.association_staff)
    count = 214
    await _orders(m, count)
    # another buyer's invoice in the same cycle: the buyer filter must keep it out
    other = await m.api.organization("buyer")
    _, other_staff = await m.api.member(other["id"], role="staff")
    r = await m.order("2", headers=other_staff, buyer_id=other["id"])
    assert r.status_code == 201, r.text
    await _deliver_and_settle(m)

    page = await m.client.get(
        "/api/v1/invoices",
        params={"cycle_id": m.cycle["id"], "limit": 200},
        headers=m.net.admin,
    )
    assert len(page.json()["items"]) == 200  # a page stops at 200 …
    assert page.json()["next_cursor"] is not None

    everything = rows_of(
        await m.client.get(
            "/api/v1/invoices.csv", params={"cycle_id": m.cycle["id"]}, headers=m.net.admin
        )
    )
    assert len(everything) == count + 1  # … the export does not (not 50, not 200)
    assert len({row["number"] for row in everything}) == count + 1

    mine = rows_of(
        await m.client.get(
            "/api/v1/invoices.csv",
            params={"cycle_id": m.cycle["id"], "buyer_id": m.buyer["id"]},
            headers=m.net.admin,
        )
    )
    assert len(mine) == count
    assert {row["buyer_id"] for row in mine} == {m.buyer["id"]}
    assert {row["purchase_order_number"] for row in mine} == {f"OC-{n:04d}" for n in range(count)}
    # visibility as the list: the other buyer sees its one invoice, nothing of the rest
    theirs = rows_of(await m.client.get("/api/v1/invoices.csv", headers=other_staff))
    assert [row["buyer_id"] for row in theirs] == [other["id"]]
    assert time.monotonic() - started < 60  # the build-up itself, on a busy machine

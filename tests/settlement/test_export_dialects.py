"""``?dialect=excel-es`` on every CSV export: what Excel opens right with a Spanish regional
setting (semicolons, a UTF-8 BOM, CRLF, decimal comma); the default dialect is unchanged."""

from __future__ import annotations

import codecs
import csv
import io
import re
from decimal import Decimal

import httpx

from tests.brands.conftest import net  # noqa: F401 - fixtures these tests build on
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market, market  # noqa: F401

DECIMAL_COMMA = re.compile(r"^-?\d+,\d{3}$")


def table(r: httpx.Response, delimiter: str) -> list[list[str]]:
    """The rows as a spreadsheet reads them: BOM stripped, CRLF line ends, ``delimiter``."""
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.content.startswith(codecs.BOM_UTF8)
    text = r.content[len(codecs.BOM_UTF8) :].decode("utf-8")
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")  # every line end is CRLF
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


async def both(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: str
) -> tuple[list[list[str]], list[list[str]]]:
    default = table(await client.get(url, params=params, headers=headers), ",")
    spanish = table(
        await client.get(url, params={**params, "dialect": "excel-es"}, headers=headers), ";"
    )
    return default, spanish


def assert_same_but_decimal_comma(
    default: list[list[str]], spanish: list[list[str]], decimals: set[str]
) -> None:
    """Equal cell by cell, except that the ``decimals`` columns have a decimal comma."""
    header = default[0]
    assert spanish[0] == header
    assert len(spanish) == len(default) > 1
    assert all(len(row) == len(header) for row in spanish)
    columns = [header.index(name) for name in decimals]
    for plain, es in zip(default[1:], spanish[1:], strict=True):
        for i, (a, b) in enumerate(zip(plain, es, strict=True)):
            if i in columns and a:
                assert DECIMAL_COMMA.match(b), (header[i], b)
                assert Decimal(b.replace(",", ".")) == Decimal(a)
                assert "," not in a
            else:
                assert a == b, (header[i], a, b)


async def _settled(m: Market) -> Floor:
    r = await m.order("7", purchase_order_number="-2+3")
    assert r.status_code == 201, r.text
    f = await Floor.start(m)
    await f.through_delivery()
    r = await m.client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert r.status_code == 200, r.text
    return f


async def test_payouts_csv_for_a_spanish_excel(market: Market) -> None:  # noqa: F811
    m = market
    await _settled(m)
    default, spanish = await both(
        m.client, f"/api/v1/cycles/{m.cycle['id']}/payouts.csv", m.net.admin
    )
    assert_same_but_decimal_comma(default, spanish, {"quantity"})
    quantities = [row[spanish[0].index("quantity")] for row in spanish[1:]]
    assert sum(Decimal(q.replace(",", ".")) for q in quantities) == 7
    # cents stay whole numbers a spreadsheet adds up
    amounts = [int(row[spanish[0].index("amount_cents")]) for row in spanish[1:]]
    assert sum(amounts) == 7 * 250


async def test_invoices_csv_for_a_spanish_excel(market: Market) -> None:  # noqa: F811
    m = market
    await _settled(m)
    default, spanish = await both(
        m.client, "/api/v1/invoices.csv", m.net.admin, cycle_id=m.cycle["id"]
    )
    # no decimal column (money is integer cents): the same cells, semicolon-separated
    assert_same_but_decimal_comma(default, spanish, set())
    [row] = spanish[1:]
    assert row[spanish[0].index("purchase_order_number")] == "'-2+3"  # never a formula
    assert int(row[spanish[0].index("total_cents")]) == 7 * 400


async def test_pick_list_csv_for_a_spanish_excel(market: Market) -> None:  # noqa: F811
    m = market
    r = await m.order("7")
    assert r.status_code == 201, r.text
    f = await Floor.start(m)
    await f.close()
    await f.received(f.first, f.allocated(f.first) - 1, lot_code="ES-1")
    await f.received(f.first, "1", lot_code="ES-2")
    await f.build()
    default, spanish = await both(
        m.client,
        f"/api/v1/delivery-orders/{f.delivery_orders[f.first]['id']}/pick-list.csv",
        f.staff,
    )
    assert_same_but_decimal_comma(
        default,
        spanish,
        {"ordered_quantity", "accepted_quantity", "rejected_quantity", "pick_quantity"},
    )
    header = spanish[0]
    assert [row[header.index("lot_code")] for row in spanish[1:]] == ["ES-1", "ES-2"]
    picked = [row[header.index("pick_quantity")] for row in spanish[1:]]
    assert sum(Decimal(q.replace(",", ".")) for q in picked) == f.allocated(f.first)


async def test_an_unknown_dialect_is_refused(market: Market) -> None:  # noqa: F811
    m = market
    r = await m.client.get(
        f"/api/v1/cycles/{m.cycle['id']}/payouts.csv",
        params={"dialect": "excel-fr"},
        headers=m.net.admin,
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")

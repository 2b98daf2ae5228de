"""Names drawn into the centre's PDFs are text, never reportlab markup (issue 11): an
organisation called ``<img src="/etc/hostname"/>`` is printed as such, and nothing from the
database makes reportlab open a file or a URL."""

from __future__ import annotations

import base64
import contextlib
import re
import zlib
from typing import Any

import pytest
from reportlab.lib import utils as reportlab_utils  # type: ignore[import-untyped]

from tests.brands.conftest import Network, net  # noqa: F401 - the fixture these tests build on
from tests.fulfilment.helpers import Floor
from tests.orders.conftest import Market

HOSTILE = '<b>Bad & Co</b> <img src="/etc/hostname"/> <a href="http://x.invalid/">x</a>'

_STREAM = re.compile(rb"stream\r?\n(.*?)\s*endstream", re.S)
_STRING = re.compile(rb"\((?:\\.|[^\\)])*\)", re.S)
_ESCAPE = re.compile(rb"\\([0-7]{1,3}|.)", re.S)
_SIMPLE = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f"}


def _unescape(raw: bytes) -> bytes:
    def one(m: re.Match[bytes]) -> bytes:
        c = m.group(1)
        if c[:1].isdigit():
            return bytes([int(c, 8)])
        return _SIMPLE.get(c, c)

    return _ESCAPE.sub(one, raw[1:-1])


def pdf_text(pdf: bytes) -> str:
    """The strings a PDF's pages draw, whitespace removed (lines wrap where spaces were)."""
    parts = []
    for stream in _STREAM.findall(pdf):
        if stream.rstrip().endswith(b"~>"):  # reportlab's ASCII85, around zlib
            stream = base64.a85decode(stream.rstrip()[:-2])
        with contextlib.suppress(zlib.error):  # a stream that is not compressed
            stream = zlib.decompress(stream)
        parts += [_unescape(s).decode("cp1252", "replace") for s in _STRING.findall(stream)]
    return "".join("".join(parts).split())


def squeezed(text: str) -> str:
    return "".join(text.split())


async def _hostile_market(network: Network) -> Market:
    """The market of tests/orders, but its centre, its buyer and one supplier are named like
    markup."""
    sku = await network.sku()
    product = await network.sheet()
    assert (await network.approve(sku["id"], product["id"])).status_code == 201
    second, second_staff = await network.join(name=HOSTILE, parish="Pujilí")
    await network.license_for(second["id"])
    theirs = await network.sheet(association_id=second["id"], headers=second_staff)
    assert (await network.approve(sku["id"], theirs["id"])).status_code == 201
    centre = await network.api.organization("collection_centre", name=HOSTILE)
    buyer = await network.api.organization("buyer", name=HOSTILE)
    _, buyer_staff = await network.api.member(buyer["id"], role="staff")
    m = Market(network, sku, second, second_staff, centre, buyer, buyer_staff)
    m.cycle = await m.new_cycle()
    await m.offer(m.cycle["id"], network.association["id"], "30", network.association_staff)
    await m.offer(m.cycle["id"], second["id"], "20", second_staff)
    return m


async def test_names_are_drawn_as_text_and_open_nothing(
    net: Network,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[Any] = []

    def refuse(name: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(name)
        raise OSError(f"a PDF of Minga tried to open {name!r}")

    # the two ways reportlab reads a resource: a file by name, or a URL
    monkeypatch.setattr(reportlab_utils, "open_for_read", refuse)
    monkeypatch.setattr(reportlab_utils, "rlUrlRead", refuse)

    f = await Floor.start(await _hostile_market(net))
    await f.order("40")
    await f.close()
    await f.receive_all()
    [shipment] = await f.build()

    for doc in ("packing-list.pdf", "labels.pdf"):
        r = await f.client.get(f"/api/v1/shipments/{shipment['id']}/{doc}", headers=f.staff)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/pdf"
        text = pdf_text(r.content)
        if doc == "packing-list.pdf":  # the centre, the buyer and the supplier, in full
            assert text.count(squeezed(HOSTILE)) >= 3, text
        else:  # labels wrap names, never cut them
            assert squeezed(HOSTILE) in text, text
            assert squeezed(f"Para: {HOSTILE}") in text, text
    assert opened == []

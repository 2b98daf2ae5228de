"""Answers over 1 KB are compressed for phones on rural links (issue 12): brotli or gzip as
the client accepts, small answers and PDFs as they are, streamed CSV still whole, and the
catalogue's ETag still answers 304."""

from __future__ import annotations

import gzip

import brotli
import httpx
import pytest

from app.main import COMPRESS_MIN_BYTES
from tests.public.conftest import Traced, build_traced
from tests.utils import Api


async def raw(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], **params: str
) -> tuple[httpx.Response, bytes]:
    """The answer and its bytes as they came over the wire (not decoded)."""
    async with client.stream("GET", url, headers=headers, params=params) as r:
        body = b"".join([chunk async for chunk in r.aiter_raw()])
    return r, body


def decoded(encoding: str | None, body: bytes) -> bytes:
    if encoding == "br":
        return brotli.decompress(body)
    if encoding == "gzip":
        return gzip.decompress(body)
    assert encoding is None, encoding
    return body


@pytest.fixture
async def traced(api: Api) -> Traced:
    return await build_traced(api)


@pytest.mark.parametrize("encoding", ["br", "gzip"])
async def test_the_catalogue_is_compressed_and_still_revalidates(
    client: httpx.AsyncClient, traced: Traced, encoding: str
) -> None:
    m = traced.market
    headers = {**m.buyer_staff, "Accept-Encoding": encoding}
    plain, plain_body = await raw(
        client, "/api/v1/skus", {**m.buyer_staff, "Accept-Encoding": "identity"}
    )
    assert len(plain_body) > COMPRESS_MIN_BYTES
    assert "content-encoding" not in plain.headers
    r, body = await raw(client, "/api/v1/skus", headers)
    assert r.status_code == 200
    assert r.headers["content-encoding"] == encoding
    assert "accept-encoding" in r.headers["vary"].lower()
    assert len(body) < len(plain_body) / 2
    assert decoded(encoding, body) == plain_body
    # the tag names the content: the client that has it gets a 304, compressed or not
    again = await client.get(
        "/api/v1/skus", headers={**headers, "If-None-Match": r.headers["etag"]}
    )
    assert again.status_code == 304
    assert again.content == b""


async def test_small_answers_and_pdfs_are_sent_as_they_are(
    client: httpx.AsyncClient, traced: Traced
) -> None:
    r, body = await raw(client, "/healthz", {"Accept-Encoding": "br, gzip"})
    assert len(body) < COMPRESS_MIN_BYTES
    assert "content-encoding" not in r.headers
    [shipment] = await traced.floor.build()
    for document in ("labels.pdf", "packing-list.pdf"):
        r, body = await raw(
            client,
            f"/api/v1/shipments/{shipment['id']}/{document}",
            {**traced.floor.staff, "Accept-Encoding": "br, gzip"},
        )
        assert r.status_code == 200, body
        assert "content-encoding" not in r.headers, document
        assert body.startswith(b"%PDF")


@pytest.mark.parametrize("encoding", ["br", "gzip"])
async def test_a_streamed_csv_arrives_whole(
    client: httpx.AsyncClient, traced: Traced, encoding: str
) -> None:
    floor = traced.floor
    if floor.second in floor.delivery_orders:
        await floor.received(floor.second, floor.allocated(floor.second))
    await floor.deliver_all()
    m = traced.market
    settled = await client.post(f"/api/v1/cycles/{m.cycle['id']}/settle", headers=m.net.admin)
    assert settled.status_code == 200, settled.text
    url = f"/api/v1/cycles/{m.cycle['id']}/payouts.csv"
    plain, plain_body = await raw(client, url, {**m.net.admin, "Accept-Encoding": "identity"})
    r, body = await raw(client, url, {**m.net.admin, "Accept-Encoding": encoding})
    assert "content-encoding" not in plain.headers
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    assert decoded(r.headers.get("content-encoding"), body) == plain_body
    assert plain_body.count(b"\n") >= 2  # the header and the association's row

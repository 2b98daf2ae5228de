"""Photos of product sheets: checked by content, size-capped, stored, served, removed."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from app.catalog.images import sniff
from tests.catalog.helpers import JPEG, PNG, WEBP, Catalog
from tests.utils import assert_problem

URL = "/api/v1/products"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (PNG, ("image/png", "png")),
        (JPEG, ("image/jpeg", "jpg")),
        (WEBP, ("image/webp", "webp")),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
        (b"GIF89a" + bytes(10), None),
        (b"", None),
    ],
)
def test_images_are_recognised_by_their_bytes(
    data: bytes, expected: tuple[str, str] | None
) -> None:
    assert sniff(data) == expected


async def test_upload_serve_and_delete(catalog: Catalog, media_dir: Path) -> None:
    pid = (await catalog.create())["id"]
    client, staff = catalog.client, catalog.staff

    r = await client.post(
        f"{URL}/{pid}/images", files={"file": ("queso.png", PNG, "image/png")}, headers=staff
    )
    assert r.status_code == 201, r.text
    image = r.json()
    assert image["content_type"] == "image/png"
    assert image["url"] == f"{URL}/{pid}/images/{image['id']}"
    stored = media_dir / "products" / pid / f"{image['id']}.png"
    assert stored.read_bytes().startswith(b"\x89PNG")  # re-encoded: see test_image_reencoding

    # The declared type does not matter, the bytes do.
    r = await client.post(
        f"{URL}/{pid}/images", files={"file": ("x.bin", JPEG, "text/plain")}, headers=staff
    )
    assert r.status_code == 201
    assert r.json()["content_type"] == "image/jpeg"

    sheet = (await client.get(f"{URL}/{pid}", headers=staff)).json()
    assert sheet["images"][0]["id"] == image["id"]
    assert len(sheet["images"]) == 2

    r = await client.get(image["url"], headers=staff)
    assert r.status_code == 200
    assert r.content == stored.read_bytes()
    assert r.headers["content-type"] == "image/png"

    # A draft's photos are not for others; a published sheet's are.
    buyer = await catalog.buyer()
    assert_problem(await client.get(image["url"], headers=buyer), 404, "product_not_found")
    await catalog.publish(pid)
    assert (await client.get(image["url"], headers=buyer)).status_code == 200

    r = await client.delete(image["url"], headers=catalog.other_staff)
    assert_problem(r, 404, "product_not_found")
    r = await client.delete(image["url"], headers=staff)
    assert r.status_code == 204
    assert not stored.exists()
    assert_problem(await client.get(image["url"], headers=staff), 404, "image_not_found")
    assert_problem(await client.delete(image["url"], headers=staff), 404, "image_not_found")
    sheet = (await client.get(f"{URL}/{pid}", headers=staff)).json()
    assert len(sheet["images"]) == 1

    # Photos are content: publishing after the change makes a new version.
    assert (await catalog.publish(pid))["version"] == 2


async def test_fake_and_oversized_images_are_refused(
    catalog: Catalog, app: FastAPI, media_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = (await catalog.create())["id"]
    client, staff = catalog.client, catalog.staff

    r = await client.post(
        f"{URL}/{pid}/images",
        files={"file": ("fake.png", b"<svg>not a png</svg>", "image/png")},
        headers=staff,
    )
    assert_problem(r, 415, "unsupported_image")

    monkeypatch.setattr(app.state.settings, "max_upload_bytes", 1000)
    r = await client.post(
        f"{URL}/{pid}/images", files={"file": ("big.png", PNG + bytes(1000))}, headers=staff
    )
    assert_problem(r, 413, "file_too_large")
    r = await client.post(
        f"{URL}/{pid}/images",
        files={"file": ("ok.png", PNG + bytes(1000 - len(PNG)))},
        headers=staff,
    )
    assert r.status_code == 201

    r = await client.post(f"{URL}/{pid}/images", headers=staff)
    assert_problem(r, 422, "validation_error")

    sheet = (await client.get(f"{URL}/{pid}", headers=staff)).json()
    assert len(sheet["images"]) == 1
    assert len(list((media_dir / "products" / pid).iterdir())) == 1


async def test_image_changes_are_audited(catalog: Catalog) -> None:
    pid = (await catalog.create())["id"]
    r = await catalog.client.post(
        f"{URL}/{pid}/images", files={"file": ("a.webp", WEBP)}, headers=catalog.staff
    )
    image = r.json()
    await catalog.client.delete(image["url"], headers=catalog.staff)

    r = await catalog.client.get(
        "/api/v1/audit-events", params={"object_id": pid}, headers=await catalog.api.admin()
    )
    events = {e["action"]: e["changes"] for e in r.json()["items"]}
    assert events["product.image_add"]["image_id"] == [None, image["id"]]
    assert events["product.image_add"]["content_type"] == [None, "image/webp"]
    assert events["product.image_remove"]["image_id"] == [image["id"], None]

"""Product photos in a bucket: what is stored is the re-encoded image, with its type; the API
serves it with the sheet's visibility; a delete removes it once committed, and an upload that
fails leaves nothing behind."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image, PngImagePlugin

from app.catalog import images
from app.catalog.images import reencode
from app.core.etag import CACHE_CONTROL
from tests.catalog.helpers import JPEG, PNG, Catalog
from tests.storage.conftest import Bucket
from tests.utils import assert_problem

URL = "/api/v1/products"


def files_in(folder: Path) -> list[Path]:
    return list(folder.rglob("*"))


def png_with_text() -> bytes:
    """A PNG carrying a text chunk, which the stored copy must not have."""
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "taken at -0.93, -78.61")
    out = io.BytesIO()
    Image.new("RGB", (5, 4), (20, 120, 60)).save(out, "PNG", pnginfo=info)
    return out.getvalue()


async def test_a_photo_is_stored_served_and_removed_in_the_bucket(
    catalog: Catalog, bucket: Bucket, local_media: Path
) -> None:
    pid = (await catalog.create())["id"]
    client, staff = catalog.client, catalog.staff
    uploaded = png_with_text()

    r = await client.post(
        f"{URL}/{pid}/images", files={"file": ("queso.png", uploaded)}, headers=staff
    )
    assert r.status_code == 201, r.text
    image = r.json()
    key = f"products/{pid}/{image['id']}.png"
    assert bucket.objects() == [key]
    stored, content_type = bucket.read(key)
    assert content_type == "image/png"
    assert stored == reencode(uploaded, "image/png")
    assert b"-78.61" in uploaded
    assert b"-78.61" not in stored

    r = await client.get(image["url"], headers=staff)
    assert r.status_code == 200
    assert r.content == stored
    assert r.headers["content-type"] == "image/png"
    assert r.headers["cache-control"] == CACHE_CONTROL
    # an image never changes, so its tag holds for good
    again = await client.get(image["url"], headers=staff | {"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304
    assert again.content == b""

    # the bucket does not open the photos of a draft to others
    assert_problem(
        await client.get(image["url"], headers=await catalog.buyer()), 404, "product_not_found"
    )

    r = await client.delete(image["url"], headers=staff)
    assert r.status_code == 204
    assert bucket.objects() == []
    assert_problem(await client.get(image["url"], headers=staff), 404, "image_not_found")
    assert files_in(local_media) == []  # nothing went to the folder


async def test_an_upload_that_fails_leaves_no_object(
    catalog: Catalog, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = (await catalog.create())["id"]
    client, staff = catalog.client, catalog.staff
    url = f"{URL}/{pid}/images"

    # the transaction fails after the object was put: the rollback takes it back
    async def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit log is down")

    with monkeypatch.context() as patch:
        patch.setattr(images.audit, "record", broken_audit)
        r = await client.post(url, files={"file": ("a.png", PNG)}, headers=staff)
    assert r.status_code == 500
    assert bucket.objects() == []
    assert (await client.get(f"{URL}/{pid}", headers=staff)).json()["images"] == []

    # refused before anything is stored
    monkeypatch.setattr(images, "MAX_IMAGES_PER_PRODUCT", 1)
    assert (
        await client.post(url, files={"file": ("a.png", PNG)}, headers=staff)
    ).status_code == 201
    r = await client.post(url, files={"file": ("b.jpg", JPEG)}, headers=staff)
    assert_problem(r, 409, "too_many_images")
    [key] = bucket.objects()
    assert key.endswith(".png")


async def test_a_delete_that_rolls_back_keeps_the_object(
    catalog: Catalog, bucket: Bucket, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = (await catalog.create())["id"]
    client, staff = catalog.client, catalog.staff
    r = await client.post(f"{URL}/{pid}/images", files={"file": ("a.png", PNG)}, headers=staff)
    image = r.json()

    async def broken_audit(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit log is down")

    monkeypatch.setattr(images.audit, "record", broken_audit)
    assert (await client.delete(image["url"], headers=staff)).status_code == 500
    assert bucket.objects() == [f"products/{pid}/{image['id']}.png"]
    r = await client.get(image["url"], headers=staff)
    assert r.status_code == 200
    assert r.content == bucket.read(bucket.objects()[0])[0]


async def test_a_row_whose_object_is_gone_is_not_found(catalog: Catalog, bucket: Bucket) -> None:
    pid = (await catalog.create())["id"]
    r = await catalog.client.post(
        f"{URL}/{pid}/images", files={"file": ("a.png", PNG)}, headers=catalog.staff
    )
    image = r.json()
    bucket.client.delete_object(Bucket=bucket.name, Key=bucket.prefix + bucket.objects()[0])
    r = await catalog.client.get(image["url"], headers=catalog.staff)
    assert_problem(r, 404, "image_not_found")

"""Photos are stored re-encoded (issue 11): the pixels stay, whatever rode along does not —
EXIF, text chunks, bytes appended after the image — and a file that only starts like an
image is refused."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, PngImagePlugin

from tests.catalog.helpers import Catalog
from tests.utils import assert_problem

URL = "/api/v1/products"
APPENDED = b"<html><body><script>alert(document.cookie)</script></body></html>"


def _png_with_baggage() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "private-comment-text")
    out = io.BytesIO()
    Image.new("RGB", (6, 4), (200, 120, 40)).save(out, "PNG", pnginfo=info)
    return out.getvalue() + APPENDED


def _jpeg_with_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker-GPS-Secret"  # Make
    exif[0x0112] = 6  # Orientation: rotate 90°
    out = io.BytesIO()
    Image.new("RGB", (8, 4), (10, 200, 30)).save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue() + b"PK\x03\x04 a zip rides along"


async def _upload(catalog: Catalog, pid: str, name: str, data: bytes) -> dict[str, str]:
    r = await catalog.client.post(
        f"{URL}/{pid}/images", files={"file": (name, data)}, headers=catalog.staff
    )
    assert r.status_code == 201, r.text
    image: dict[str, str] = r.json()
    return image


async def test_a_png_with_html_appended_is_stored_without_it(
    catalog: Catalog, media_dir: Path
) -> None:
    pid = (await catalog.create())["id"]
    image = await _upload(catalog, pid, "queso.png", _png_with_baggage())
    stored = (media_dir / "products" / pid / f"{image['id']}.png").read_bytes()
    assert APPENDED not in stored
    assert b"<html" not in stored
    assert b"private-comment-text" not in stored
    with Image.open(io.BytesIO(stored)) as png:
        assert (png.format, png.size) == ("PNG", (6, 4))
        assert png.convert("RGB").getpixel((0, 0)) == (200, 120, 40)

    r = await catalog.client.get(image["url"], headers=catalog.staff)
    assert r.content == stored
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    sheet = (await catalog.client.get(f"{URL}/{pid}", headers=catalog.staff)).json()
    assert sheet["images"][0]["id"] == image["id"]


async def test_a_jpeg_loses_its_exif_and_keeps_its_orientation(
    catalog: Catalog, media_dir: Path
) -> None:
    pid = (await catalog.create())["id"]
    image = await _upload(catalog, pid, "foto.jpg", _jpeg_with_exif())
    stored = (media_dir / "products" / pid / f"{image['id']}.jpg").read_bytes()
    assert b"PhoneMaker-GPS-Secret" not in stored
    assert b"PK\x03\x04" not in stored
    with Image.open(io.BytesIO(stored)) as jpeg:
        assert jpeg.format == "JPEG"
        assert jpeg.size == (4, 8)  # turned as the orientation said, then the tag dropped
        assert not jpeg.getexif()


async def test_a_file_that_only_starts_like_an_image_is_refused(
    catalog: Catalog, media_dir: Path
) -> None:
    pid = (await catalog.create())["id"]
    for name, data in [
        ("fake.png", b"\x89PNG\r\n\x1a\n" + APPENDED),
        ("fake.jpg", b"\xff\xd8\xff\xe0" + APPENDED),
        ("fake.webp", b"RIFF\x24\x00\x00\x00WEBPVP8 " + APPENDED),
    ]:
        r = await catalog.client.post(
            f"{URL}/{pid}/images", files={"file": (name, data)}, headers=catalog.staff
        )
        assert_problem(r, 415, "unsupported_image")
    assert not (media_dir / "products" / pid).exists()

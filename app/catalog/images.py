"""Photos of product sheets: decoded and re-encoded on upload, kept in the object store.

Objects are keyed ``products/<product_id>/<image_id>.<ext>`` (files under the media folder,
or objects in the bucket, app/core/storage.py) and served through the API with the sheet's
own visibility (a draft's photos are not public).

What is stored is never the uploaded file but its pixels encoded again by Pillow: whatever
rode along — EXIF (a phone's GPS position), text chunks, ICC blobs, bytes appended after the
image (a PNG that is also an HTML page or a ZIP) — is dropped, and a file that does not
decode as what its first bytes claim is refused.
"""

from __future__ import annotations

import io
import warnings
from typing import NamedTuple

from anyio import to_thread
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.principal import Principal
from app.catalog.exceptions import FileTooLarge, ImageNotFound, TooManyImages, UnsupportedImage
from app.catalog.models import ProductImage
from app.catalog.schemas import ImagePublic
from app.catalog.service import owned_product, visible_product
from app.catalog.sheets import image_url
from app.core.db import after_commit, after_rollback
from app.core.etag import none_match
from app.core.i18n import _l
from app.core.ids import new_id
from app.core.storage import ObjectStore
from app.core.timeutil import utcnow

MAX_IMAGES_PER_PRODUCT = 12
# Pixels, not bytes, are what decoding costs: a few kilobytes can declare a 50 000² image.
MAX_PIXELS = 40_000_000
PILLOW_FORMATS = {"image/jpeg": "JPEG", "image/png": "PNG", "image/webp": "WEBP"}


def sniff(data: bytes) -> tuple[str, str] | None:
    """``(content_type, extension)`` of a JPEG, PNG or WebP image, judged by its first bytes."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", "jpg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png", "png"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


def reencode(data: bytes, content_type: str) -> bytes:
    """The image's pixels alone, in its own format (CPU work: run it in a worker thread)."""
    fmt = PILLOW_FORMATS[content_type]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=[fmt]) as source:
                width, height = source.size
                if width * height > MAX_PIXELS:
                    raise UnsupportedImage(_l("Images may have at most {n} pixels", n=MAX_PIXELS))
                source.load()
                image = ImageOps.exif_transpose(source)  # the photo's orientation, kept
    except UnsupportedImage:
        raise
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
        SyntaxError,
        ValueError,
    ) as error:
        raise UnsupportedImage(
            _l("The file is not a readable {format} image", format=fmt)
        ) from error
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    elif fmt == "WEBP" and image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
    # Some encoders fall back on what the decoder read (the PNG one on its ICC profile): keep
    # only what the pixels need, a palette's transparent colour.
    image.info = {k: v for k, v in image.info.items() if k == "transparency"}
    out = io.BytesIO()
    options: dict[str, object] = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
    image.save(out, format=fmt, **options)
    return out.getvalue()


def image_key(image: ProductImage) -> str:
    return f"products/{image.product_id}/{image.filename}"


async def add_image(
    session: AsyncSession,
    principal: Principal,
    product_id: str,
    data: bytes,
    *,
    store: ObjectStore,
    max_bytes: int,
) -> ImagePublic:
    product = await owned_product(session, principal, product_id)
    if len(data) > max_bytes:
        raise FileTooLarge(_l("Images may be at most {n} bytes", n=max_bytes))
    kind = sniff(data)
    if kind is None:
        raise UnsupportedImage("The file is not a JPEG, PNG or WebP image")
    count = await session.scalar(
        select(func.count()).select_from(ProductImage).where(ProductImage.product_id == product.id)
    )
    if (count or 0) >= MAX_IMAGES_PER_PRODUCT:
        raise TooManyImages(_l("A sheet may have at most {n} images", n=MAX_IMAGES_PER_PRODUCT))

    content_type, extension = kind
    data = await to_thread.run_sync(reencode, data, content_type)
    image_id = new_id()
    image = ProductImage(
        id=image_id,
        product_id=product.id,
        filename=f"{image_id}.{extension}",
        content_type=content_type,
        size_bytes=len(data),
    )
    # stored before the row exists (no lock is held while the bucket answers); a rollback
    # takes it back, so no object outlives a failed upload
    key = image_key(image)
    await store.put(key, data, content_type)
    after_rollback(session, lambda: store.delete(key))
    session.add(image)
    product.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        principal,
        action="product.image_add",
        object_type="product",
        object_id=product.id,
        organization_id=product.association_id,
        changes=audit.diff(
            None,
            {"image_id": image.id, "content_type": content_type, "size_bytes": len(data)},
        ),
    )
    return ImagePublic(id=image.id, url=image_url(product.id, image.id), content_type=content_type)


async def _image(session: AsyncSession, product_id: str, image_id: str) -> ProductImage:
    image = await session.scalar(
        select(ProductImage).where(
            col(ProductImage.id) == image_id, col(ProductImage.product_id) == product_id
        )
    )
    if image is None:
        raise ImageNotFound()
    return image


async def remove_image(
    session: AsyncSession,
    principal: Principal,
    product_id: str,
    image_id: str,
    *,
    store: ObjectStore,
) -> None:
    """Drop the image's row, and its object once the change is committed."""
    product = await owned_product(session, principal, product_id)
    image = await _image(session, product.id, image_id)
    await session.delete(image)
    product.updated_at = utcnow()
    await session.flush()
    await audit.record(
        session,
        principal,
        action="product.image_remove",
        object_type="product",
        object_id=product.id,
        organization_id=product.association_id,
        changes=audit.diff(
            {
                "image_id": image.id,
                "content_type": image.content_type,
                "size_bytes": image.size_bytes,
            },
            None,
        ),
    )
    key = image_key(image)
    after_commit(session, lambda: store.delete(key))


class StoredImage(NamedTuple):
    content_type: str
    etag: str
    data: bytes | None  # None: the client's copy (If-None-Match) is current


async def image_file(
    session: AsyncSession,
    principal: Principal,
    product_id: str,
    image_id: str,
    *,
    store: ObjectStore,
    if_none_match: str | None = None,
) -> StoredImage:
    """The stored bytes of an image of a sheet the caller may see, and its content type."""
    product = await visible_product(session, principal, product_id)
    image = await _image(session, product.id, image_id)
    # an image's bytes never change (a new photo is a new image), so its id tags them, and a
    # revalidation costs no read of the store
    etag = f'"{image.id}"'
    if none_match(if_none_match, etag):
        return StoredImage(image.content_type, etag, None)
    data = await store.get(image_key(image))
    if data is None:
        raise ImageNotFound("The image's file is missing")
    return StoredImage(image.content_type, etag, data)

"""The two stores keep the same promises: whole objects, first writer wins, no escape from
the folder, and a missing object is ``None`` (deleting one is no error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from app.core.storage import LocalStore, ObjectStore, S3Store
from tests.storage.conftest import BUCKET, KEY_ID, PREFIX, SECRET


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str) -> ObjectStore:
    if request.param == "local":
        return LocalStore(tmp_path)
    return S3Store(
        BUCKET,
        prefix=PREFIX,
        endpoint_url=s3_endpoint,
        access_key_id=KEY_ID,
        secret_access_key=SecretStr(SECRET),
    )


async def test_put_get_delete(store: ObjectStore) -> None:
    assert await store.get("invoices/x.pdf") is None
    await store.put("invoices/x.pdf", b"one", "application/pdf")
    await store.put("invoices/x.pdf", b"two", "application/pdf")  # replaced
    assert await store.get("invoices/x.pdf") == b"two"
    await store.delete("invoices/x.pdf")
    await store.delete("invoices/x.pdf")
    assert await store.get("invoices/x.pdf") is None


async def test_the_first_writer_of_a_key_wins(store: ObjectStore) -> None:
    assert await store.put_if_absent("invoices/y.pdf", b"first", "application/pdf")
    assert not await store.put_if_absent("invoices/y.pdf", b"second", "application/pdf")
    assert await store.get("invoices/y.pdf") == b"first"


@pytest.mark.parametrize("key", ["", "/etc/passwd", "products/../../x", "a\\b"])
async def test_keys_stay_inside(store: ObjectStore, key: str) -> None:
    with pytest.raises(ValueError, match="not an object key"):
        await store.put(key, b"x", "text/plain")


async def test_the_folder_holds_no_part_files(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    await store.put("products/p/a.png", b"png", "image/png")
    await store.put_if_absent("products/p/b.png", b"png", "image/png")
    await store.put_if_absent("products/p/b.png", b"png", "image/png")
    names = sorted(p.name for p in (tmp_path / "products" / "p").iterdir())
    assert names == ["a.png", "b.png"]


def test_the_prefix_is_where_the_bucket_has_them() -> None:
    assert S3Store(BUCKET, prefix="/tenant-a/")._key("a/b") == "tenant-a/a/b"
    assert S3Store(BUCKET)._key("a/b") == "a/b"

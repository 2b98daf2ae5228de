"""Where objects (product photos, issued documents) are kept: a local folder, or a bucket.

Keys are relative paths with ``/`` separators (``products/<product_id>/<file>``,
``invoices/<invoice_id>.pdf``): under the folder they are the files' paths, in a bucket the
objects' keys (after an optional prefix), so a folder copied to a bucket keeps working.

``object_store(settings)`` picks one: the bucket when ``MINGA_S3_BUCKET`` is set, else the
media folder. One store is made per application (``app.state.object_store``).
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from anyio import to_thread
from pydantic import SecretStr

from app.core.config import Settings


class ObjectStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None:
        """Store ``data`` under ``key`` whole (a reader never sees part of it), replacing it."""

    async def put_if_absent(self, key: str, data: bytes, content_type: str) -> bool:
        """Store ``data`` under ``key`` unless an object is there already (then ``False``):
        of two writers of one key, one wins and the other can read what won."""

    async def get(self, key: str) -> bytes | None:
        """The object's bytes, or ``None`` when there is none."""

    async def delete(self, key: str) -> None:
        """Remove the object; removing one that is not there is not an error."""


def _checked(key: str) -> PurePosixPath:
    # keys are built from ids, never from a client's path, but a folder must not be escaped
    path = PurePosixPath(key)
    if not key or path.is_absolute() or ".." in path.parts or "\\" in key:
        raise ValueError(f"not an object key: {key!r}")
    return path


class LocalStore:
    """Files under ``root``, written to ``<file>.part`` and renamed over the file."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root.joinpath(*_checked(key).parts)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await to_thread.run_sync(_write, self.path(key), data)

    async def put_if_absent(self, key: str, data: bytes, content_type: str) -> bool:
        return await to_thread.run_sync(_write_new, self.path(key), data)

    async def get(self, key: str) -> bytes | None:
        return await to_thread.run_sync(_read, self.path(key))

    async def delete(self, key: str) -> None:
        await to_thread.run_sync(self.path(key).unlink, True)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(path.suffix + ".part")
    partial.write_bytes(data)
    partial.replace(path)  # readers never see half a file


def _write_new(path: Path, data: bytes) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    # a part of this writer's own, linked under the name only if the name is free
    partial = path.with_name(f"{path.name}.{uuid.uuid4().hex}.part")
    partial.write_bytes(data)
    try:
        os.link(partial, path)
    except FileExistsError:
        return False
    finally:
        partial.unlink()
    return True


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None


# what a conditional write answers when another writer got there first
LOST_RACE = frozenset({"PreconditionFailed", "ConditionalRequestConflict"})


class S3Store:
    """Objects in a bucket, through the S3 API (AWS, MinIO, Garage, Ceph…) with aioboto3.

    One aioboto3 session for the store's life; a client per operation, so nothing is left
    open at shutdown (botocore caches the service model, so a client is cheap to make).
    """

    def __init__(
        self,
        bucket: str,
        *,
        prefix: str = "",
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: SecretStr | None = None,
    ) -> None:
        import aioboto3  # only deployments with a bucket pay for importing botocore

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self._session = aioboto3.Session()
        # no key given: botocore's own chain (environment, profile, instance role)
        self._client_options: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": (
                secret_access_key.get_secret_value() if secret_access_key else None
            ),
        }

    def _key(self, key: str) -> str:
        return self.prefix + str(_checked(key))

    def _client(self) -> Any:
        return self._session.client("s3", **self._client_options)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        async with self._client() as s3:
            await s3.put_object(
                Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type
            )

    async def put_if_absent(self, key: str, data: bytes, content_type: str) -> bool:
        async with self._client() as s3:
            try:
                await s3.put_object(
                    Bucket=self.bucket,
                    Key=self._key(key),
                    Body=data,
                    ContentType=content_type,
                    IfNoneMatch="*",
                )
            except s3.exceptions.ClientError as error:
                # 412: the object is there; 409: a concurrent conditional write is under way
                if error.response.get("Error", {}).get("Code") in LOST_RACE:
                    return False
                raise
        return True

    async def get(self, key: str) -> bytes | None:
        async with self._client() as s3:
            try:
                answer = await s3.get_object(Bucket=self.bucket, Key=self._key(key))
            except s3.exceptions.NoSuchKey:
                return None
            async with answer["Body"] as body:
                data: bytes = await body.read()
                return data

    async def delete(self, key: str) -> None:
        async with self._client() as s3:
            await s3.delete_object(Bucket=self.bucket, Key=self._key(key))


def object_store(settings: Settings) -> ObjectStore:
    if settings.s3_bucket:
        return S3Store(
            settings.s3_bucket,
            prefix=settings.s3_prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key,
        )
    return LocalStore(settings.media_dir)

"""The application on an S3 bucket: moto's standalone server, one per test worker, with a
bucket of its own, and the usual ``app`` and ``client`` fixtures built on settings that name
it (so every route runs as it would against AWS or MinIO)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from fastapi import FastAPI
from moto.server import ThreadedMotoServer
from pydantic import SecretStr

from app.core.config import Settings
from app.core.storage import S3Store
from app.main import create_app
from tests.catalog.helpers import Catalog
from tests.utils import Api

BUCKET = "minga-test"
PREFIX = "tenant-a/"  # keys under a prefix, as in a shared bucket
KEY_ID, SECRET = "testing", "testing"


@dataclass
class Bucket:
    """What the tests read the bucket with: boto3, apart from the application's aioboto3."""

    client: Any
    name: str = BUCKET
    prefix: str = PREFIX

    def objects(self, under: str = "") -> list[str]:
        answer = self.client.list_objects_v2(Bucket=self.name, Prefix=self.prefix + under)
        return sorted(x["Key"].removeprefix(self.prefix) for x in answer.get("Contents", []))

    def read(self, key: str) -> tuple[bytes, str]:
        """The object's bytes and content type."""
        answer = self.client.get_object(Bucket=self.name, Key=self.prefix + key)
        return answer["Body"].read(), answer["ContentType"]

    def write(self, key: str, data: bytes, content_type: str) -> None:
        self.client.put_object(
            Bucket=self.name, Key=self.prefix + key, Body=data, ContentType=content_type
        )


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="session")
def bucket(s3_endpoint: str) -> Bucket:
    client = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
    )
    client.create_bucket(Bucket=BUCKET)
    return Bucket(client)


@pytest.fixture(scope="session")
def local_media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The media folder of the bucket's application: nothing may land there."""
    return tmp_path_factory.mktemp("s3-app-media")


@pytest.fixture(scope="session")
async def app(
    settings: Settings, s3_endpoint: str, bucket: Bucket, local_media: Path
) -> AsyncIterator[FastAPI]:
    """The suite's application (tests/conftest.py), on the bucket instead of the folder."""
    on_s3 = settings.model_copy(
        update={
            "media_dir": str(local_media),
            "s3_bucket": BUCKET,
            "s3_prefix": PREFIX,
            "s3_endpoint_url": s3_endpoint,
            "s3_access_key_id": KEY_ID,
            "s3_secret_access_key": SecretStr(SECRET),
        }
    )
    application = create_app(on_s3)
    assert isinstance(application.state.object_store, S3Store)
    yield application
    await application.state.engine.dispose()


@pytest.fixture(autouse=True)
def empty_bucket(bucket: Bucket) -> Iterator[None]:
    yield
    for key in bucket.objects():
        bucket.client.delete_object(Bucket=bucket.name, Key=bucket.prefix + key)


@pytest.fixture
async def catalog(api: Api) -> Catalog:
    return await Catalog.start(api)

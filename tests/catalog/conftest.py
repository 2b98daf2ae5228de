"""Fixtures of the catalogue tests: a media folder of their own, two associations."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI

from app.core.storage import LocalStore
from tests.catalog.helpers import Catalog
from tests.utils import Api


@pytest.fixture(autouse=True)
def media_dir(app: FastAPI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "media"
    monkeypatch.setattr(app.state.settings, "media_dir", str(folder))
    # into State's dict: monkeypatch's undo would delete an attribute it set on State itself
    monkeypatch.setitem(app.state._state, "object_store", LocalStore(folder))
    return folder


@pytest.fixture
async def catalog(api: Api) -> Catalog:
    return await Catalog.start(api)

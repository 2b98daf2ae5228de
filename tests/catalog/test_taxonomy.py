"""The seeded taxonomy: the migration's frozen copy matches the code's."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI
from sqlalchemy import delete
from sqlmodel import col

from app.catalog.categories import TAXONOMY, ensure_taxonomy
from app.catalog.models import Category
from app.core.db import transaction


def test_migration_seeds_the_taxonomy_of_the_code(project_root: Path) -> None:
    path = project_root / "migrations" / "versions" / "0002_catalog.py"
    spec = importlib.util.spec_from_file_location("migration_0002", path)
    assert spec is not None
    assert spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    assert [tuple(seed) for seed in TAXONOMY] == migration.TAXONOMY
    processed = {seed.slug for seed in TAXONOMY if seed.processed}
    assert processed == {
        "dairy",
        "flours",
        "fruit_pulps",
        "jams",
        "seasonings",
        "prepared_food",
        "feed",
    }


async def test_missing_categories_are_put_back(app: FastAPI, client: object) -> None:
    async with transaction(app.state.sessionmaker) as session:
        await session.execute(delete(Category).where(col(Category.slug) == "crafts"))
    async with transaction(app.state.sessionmaker) as session:
        assert await ensure_taxonomy(session) == 1
        assert await ensure_taxonomy(session) == 0

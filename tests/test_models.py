"""Guards on the models that keep N+1 queries and unnamed constraints out."""

from __future__ import annotations

from sqlalchemy.orm import configure_mappers

from app.core.db import NAMING_CONVENTION
from app.models import metadata


def test_no_relationship_loads_lazily() -> None:
    from sqlmodel import SQLModel

    configure_mappers()
    for mapper in SQLModel._sa_registry.mappers:
        for rel in mapper.relationships:
            assert rel.lazy in {"raise", "raise_on_sql", "noload"}, (
                f"{mapper.class_.__name__}.{rel.key} loads lazily ({rel.lazy}); "
                "load it explicitly with selectinload/joinedload and set lazy='raise'"
            )


def test_constraints_follow_the_naming_convention() -> None:
    assert metadata.naming_convention == NAMING_CONVENTION
    for table in metadata.sorted_tables:
        for constraint in table.constraints:
            name = str(constraint.name)
            assert name.split("_")[0] in {"pk", "fk", "uq", "ck"}, (table.name, name)

"""The category taxonomy: what the migration seeds, and how the rest of the code reads it."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import NamedTuple

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.catalog.models import Category
from app.core.i18n import N_, gettext


class Seed(NamedTuple):
    slug: str
    name: str
    processed: bool


# The same rows as migration 0002 seeds (a test keeps the two equal). ``processed`` marks
# transformed food, for which sanitary registration rules usually apply.
TAXONOMY: tuple[Seed, ...] = (
    Seed("dairy", "Lácteos", True),
    Seed("eggs", "Huevos", False),
    Seed("poultry", "Aves de corral", False),
    Seed("small_livestock", "Especies menores (cuy, conejo)", False),
    Seed("produce", "Frutas y hortalizas", False),
    Seed("andean_grains", "Granos andinos", False),
    Seed("flours", "Harinas", True),
    Seed("fruit_pulps", "Pulpas de fruta", True),
    Seed("jams", "Mermeladas", True),
    Seed("seasonings", "Condimentos y aliños", True),
    Seed("coffee", "Café", False),
    Seed("panela", "Panela", False),
    Seed("cacao", "Cacao", False),
    Seed("feed", "Balanceados y alimento animal", True),
    Seed("prepared_food", "Comida preparada", True),
    Seed("crafts", "Artesanías", False),
)


# The label of each category as the catalogue knows it (English msgids; the Spanish
# translations are the names above, which a test keeps equal). GET /categories shows the label
# in the reader's language; the slug is the stable key.
LABELS: dict[str, str] = {
    "dairy": N_("Dairy"),
    "eggs": N_("Eggs"),
    "poultry": N_("Poultry"),
    "small_livestock": N_("Small livestock (guinea pig, rabbit)"),
    "produce": N_("Fruit and vegetables"),
    "andean_grains": N_("Andean grains"),
    "flours": N_("Flours"),
    "fruit_pulps": N_("Fruit pulps"),
    "jams": N_("Jams"),
    "seasonings": N_("Seasonings and condiments"),
    "coffee": N_("Coffee"),
    "panela": N_("Panela"),
    "cacao": N_("Cacao"),
    "feed": N_("Animal feed"),
    "prepared_food": N_("Prepared food"),
    "crafts": N_("Crafts"),
}


def label(slug: str, name: str, language: str | None = None) -> str:
    """The category's label in ``language`` (the request's by default); a category the
    catalogue does not know keeps its stored ``name``."""
    msgid = LABELS.get(slug)
    return gettext(msgid, language=language) if msgid else name


_SEPARATORS = re.compile(r"[\s_\-]+")
_ASIDE = re.compile(r"\s*\(.*\)\s*$")  # "Especies menores (cuy, conejo)" → "Especies menores"


def label_key(text: str) -> str:
    """How a written category is compared: without accents, case, or repeated spaces
    (``"Lácteos"``, ``"LACTEOS"`` and ``"lacteos "`` are the same key)."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _SEPARATORS.sub(" ", plain.casefold()).strip()


async def category_keys(session: AsyncSession) -> dict[str, str]:
    """Every way a category may be written (its slug, its Spanish and its English label, each
    also without a closing aside in brackets), as :func:`label_key`, to its slug (one query)."""
    keys: dict[str, str] = {}
    for category in await list_categories(session):
        # the slug, the Spanish name, and the English label (the catalogue's msgid)
        written = [category.slug, category.name, LABELS.get(category.slug, "")]
        for text in [*written, *(_ASIDE.sub("", text) for text in written)]:
            if text.strip():
                keys.setdefault(label_key(text), category.slug)
    return keys


async def list_categories(session: AsyncSession) -> Sequence[Category]:
    return (await session.scalars(select(Category).order_by(col(Category.slug)))).all()


async def existing_slugs(session: AsyncSession, slugs: Sequence[str]) -> set[str]:
    """The slugs among ``slugs`` that are categories (one query)."""
    if not slugs:
        return set()
    rows = await session.scalars(select(Category.slug).where(col(Category.slug).in_(set(slugs))))
    return set(rows)


async def ensure_taxonomy(session: AsyncSession) -> int:
    """Insert the categories that are missing (the migration seeds them; demo and tests may
    have emptied the table). Returns how many were added."""
    have = await existing_slugs(session, [s.slug for s in TAXONOMY])
    missing = [Category(**seed._asdict()) for seed in TAXONOMY if seed.slug not in have]
    session.add_all(missing)
    await session.flush()
    return len(missing)

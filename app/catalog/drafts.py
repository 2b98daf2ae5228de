"""Drafts of published sheets: what an association changes waits until it publishes again.

The row of a published sheet is its public face: buyers, brand listings, filters and search
read it. A PATCH of a published sheet goes to ``Product.draft`` instead, as the fields the
API writes (``ProductUpdate``), keeping only those that differ from the public face. The
association reads the sheet with the draft laid over it (the working copy) and told which
fields changed; publishing applies the draft to the row and freezes the next version.

Pure: public sheets and plain dicts in and out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from app.catalog.schemas import DraftPublic, ProductPublic, ProductUpdate

# The fields a draft may hold: those a PATCH writes, spelt as in the public sheet.
EDITABLE: tuple[str, ...] = tuple(ProductUpdate.model_fields)


def fields_of(draft: Mapping[str, Any]) -> dict[str, Any]:
    """The draft's fields, typed and checked again as a PATCH gives them to the service."""
    update = ProductUpdate.model_validate(dict(draft))
    given = update.model_dump(include=update.model_fields_set)
    if "certifications" in given:
        # as the rows read back: by kind, in the order given within a kind
        given["certifications"] = sorted(given["certifications"], key=lambda c: c["kind"])
    return given


def working_sheet(published: ProductPublic, draft: Mapping[str, Any] | None) -> ProductPublic:
    """The public sheet with the draft's fields laid over it."""
    if not draft:
        return published
    return ProductPublic.model_validate({**published.model_dump(), **fields_of(draft)})


def content(sheet: ProductPublic) -> dict[str, Any]:
    """The editable fields of a sheet, as JSON values (for comparing and auditing)."""
    return sheet.model_dump(mode="json", include=set(EDITABLE))


def changed_fields(published: ProductPublic, working: ProductPublic) -> list[str]:
    before, after = content(published), content(working)
    return [name for name in EDITABLE if before[name] != after[name]]


def merge(
    published: ProductPublic, draft: Mapping[str, Any] | None, sent: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The draft after a PATCH: ``sent`` over the old draft, less what equals the public face
    (so changing a field back leaves nothing to publish). None when nothing differs."""
    merged = {**(draft or {}), **sent}
    changed = changed_fields(published, working_sheet(published, merged))
    return {name: merged[name] for name in changed} or None


def as_seen_by_owner(
    published: ProductPublic,
    draft: Mapping[str, Any],
    updated_at: datetime | None,
    *,
    working: bool,
) -> ProductPublic:
    """What the sheet's association reads: the working copy (or, asked for, the public face),
    with the draft described."""
    work = working_sheet(published, draft)
    info = DraftPublic(
        version=published.version + 1,
        changed_fields=changed_fields(published, work),
        updated_at=updated_at or published.updated_at,
    )
    shown = work if working else published
    return shown.model_copy(update={"has_unpublished_changes": True, "draft": info})

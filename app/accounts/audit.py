"""The audit trail: every domain records who changed what through ``record``."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import AuditEvent
from app.accounts.principal import Principal
from app.core import stamps

SECRET_FIELDS = frozenset({"password", "password_hash", "key_hash", "key"})


def _plain(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(v) for v in value]
    return value


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any]:
    """``{field: [old, new]}`` for the fields that changed; secrets are never written."""
    before, after = before or {}, after or {}
    out: dict[str, Any] = {}
    for name in sorted(set(before) | set(after)):
        if name in SECRET_FIELDS:
            continue
        old, new = _plain(before.get(name)), _plain(after.get(name))
        if old != new:
            out[name] = [old, new]
    return out


async def record(
    session: AsyncSession,
    actor: Principal | None,
    *,
    action: str,
    object_type: str,
    object_id: str,
    organization_id: str | None,
    changes: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction: it lands if and only if the change does."""
    event = AuditEvent(
        actor_user_id=actor.user_id if actor else None,
        actor_api_key_id=actor.api_key_id if actor else None,
        organization_id=organization_id,
        action=action,
        object_type=object_type,
        object_id=object_id,
        changes=dict(changes or {}),
    )
    session.add(event)
    stamps.mark(session, object_type)  # a catalogue change moves the catalogue's stamp
    await session.flush()
    return event

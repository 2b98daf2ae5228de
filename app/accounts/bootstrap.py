"""The platform admin named in the settings exists after start-up."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.accounts.passwords import check_password
from app.core.ids import new_id
from app.core.security import hash_password
from app.core.timeutil import utcnow

_users: Any = User.__table__  # type: ignore[attr-defined]

log = logging.getLogger(__name__)


async def ensure_platform_admin(
    session: AsyncSession, *, email: str, password: str, full_name: str = "Platform admin"
) -> User:
    """Create the admin, or make an existing account a platform admin. Never resets a password
    (so an old deployment whose admin password predates the policy still starts).

    Several API workers start at once and each runs this: the insert does nothing when
    another worker got there first, so none of them fails its start-up.
    """
    email = email.strip().lower()
    user = await session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        check_password(password, email=email)
        insert = (
            postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        )
        result = await session.execute(
            insert(_users)
            .values(
                id=new_id(),
                email=email,
                full_name=full_name,
                password_hash=hash_password(password),
                is_platform_admin=True,
                is_active=True,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=[_users.c.email])
        )
        if getattr(result, "rowcount", 0):
            log.info("created platform admin %s", email)
        user = await session.scalar(select(User).where(func.lower(User.email) == email))
        assert user is not None
    if not user.is_platform_admin:
        user.is_platform_admin = True
        log.info("made %s a platform admin", email)
    await session.flush()
    return user

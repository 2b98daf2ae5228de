"""The platform admin named in the settings exists after start-up."""

from __future__ import annotations

import logging

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts.models import User
from app.core.security import hash_password

log = logging.getLogger(__name__)


async def ensure_platform_admin(
    session: AsyncSession, *, email: str, password: str, full_name: str = "Platform admin"
) -> User:
    """Create the admin, or make an existing account a platform admin. Never resets a password."""
    email = email.strip().lower()
    user = await session.scalar(select(User).where(func.lower(User.email) == email))
    if user is None:
        user = User(
            email=email,
            full_name=full_name,
            password_hash=hash_password(password),
            is_platform_admin=True,
        )
        session.add(user)
        log.info("created platform admin %s", email)
    elif not user.is_platform_admin:
        user.is_platform_admin = True
        log.info("made %s a platform admin", email)
    await session.flush()
    return user

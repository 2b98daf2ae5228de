"""Who is calling: a user (bearer token) or a machine client (API key), with their roles.

Roles are read from the database on every request, so removing a membership takes effect
at once for tokens already issued.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.accounts.exceptions import (
    InsufficientRole,
    OrganizationNotFound,
    PlatformAdminRequired,
)
from app.accounts.models import Role
from app.core.i18n import _l
from app.core.problems import NotFound


@dataclass(frozen=True)
class Principal:
    user_id: str | None
    api_key_id: str | None = None
    email: str | None = None
    is_platform_admin: bool = False
    roles: Mapping[str, Role] = field(default_factory=dict)
    language: str | None = None  # the user's own choice (PATCH /me)
    network_language: str | None = None  # of the country of the user's organisations

    def role_in(self, organization_id: str) -> Role | None:
        return self.roles.get(organization_id)

    def is_member(self, organization_id: str, role: Role = Role.staff) -> bool:
        """True for a platform admin, or a member with ``role`` (admin includes staff)."""
        if self.is_platform_admin:
            return True
        held = self.roles.get(organization_id)
        return held is not None and (role is Role.staff or held is Role.admin)

    def require_member(
        self,
        organization_id: str,
        role: Role = Role.staff,
        *,
        not_found: type[NotFound] = OrganizationNotFound,
    ) -> None:
        """404 for outsiders (never leak existence), 403 for members with too low a role."""
        if self.is_member(organization_id, role):
            return
        if organization_id in self.roles:
            raise InsufficientRole(_l("This needs the {role} role in the organisation", role=role))
        raise not_found()

    def require_platform_admin(self) -> None:
        if not self.is_platform_admin:
            raise PlatformAdminRequired()


# Minga itself, for work a request authorised before handing it to a job (a route plan, a
# print pack) and for reading the documents it attaches to its e-mails
SYSTEM = Principal(user_id=None, is_platform_admin=True)

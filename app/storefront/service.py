"""A network's choice to show its catalogue to anonymous visitors."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from app.accounts import audit
from app.accounts.exceptions import NetworkNotFound
from app.accounts.models import Organization, OrganizationKind, Role
from app.accounts.principal import Principal
from app.storefront.schemas import PublicCataloguePublic, PublicCatalogueSetting


async def _network(session: AsyncSession, principal: Principal, network_id: str) -> Organization:
    principal.require_member(network_id, not_found=NetworkNotFound)
    network = await session.get(Organization, network_id)
    if network is None or network.kind != OrganizationKind.network:
        raise NetworkNotFound()
    return network


async def public_catalogue(
    session: AsyncSession, principal: Principal, network_id: str
) -> PublicCataloguePublic:
    network = await _network(session, principal, network_id)
    return PublicCataloguePublic(network_id=network.id, public_catalogue=network.public_catalogue)


async def set_public_catalogue(
    session: AsyncSession, principal: Principal, network_id: str, data: PublicCatalogueSetting
) -> PublicCataloguePublic:
    """Open or close the network's shop window; cached pages follow at once (the change is
    audited as the organisation's, which moves the catalogue's stamp)."""
    principal.require_member(network_id, Role.admin, not_found=NetworkNotFound)
    network = await _network(session, principal, network_id)
    before = network.public_catalogue
    if before != data.public_catalogue:
        network.public_catalogue = data.public_catalogue
        session.add(network)
        await session.flush()
        await audit.record(
            session,
            principal,
            action="network.public_catalogue",
            object_type="organization",
            object_id=network.id,
            organization_id=network.id,
            changes=audit.diff(
                {"public_catalogue": before}, {"public_catalogue": data.public_catalogue}
            ),
        )
    return PublicCataloguePublic(network_id=network.id, public_catalogue=network.public_catalogue)

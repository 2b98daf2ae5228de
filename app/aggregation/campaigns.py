"""Joint purchase campaigns: the network pools its associations' input needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.exceptions import NetworkNotFound
from app.accounts.models import NetworkAssociation, Organization, OrganizationKind, Role
from app.accounts.principal import Principal
from app.aggregation import joint_purchase as algo
from app.aggregation.exceptions import (
    CampaignClosed,
    CampaignNotFound,
    InvalidCampaign,
    RequestExists,
)
from app.aggregation.models import CampaignStatus, PurchaseCampaign, PurchaseRequest
from app.aggregation.schemas import (
    CampaignCreate,
    CampaignPublic,
    PackTierIn,
    RequestCreate,
    RequestPublic,
    SharePublic,
)
from app.core.pagination import PageParams, paginate
from app.core.timeutil import utcnow
from app.events import service as events
from app.orders.cycles import in_zone


def _tiers(tiers: Sequence[PackTierIn]) -> list[algo.PackTier]:
    return [algo.PackTier(t.min_packs, t.pack_price_cents) for t in tiers]


async def create_campaign(
    session: AsyncSession, principal: Principal, data: CampaignCreate
) -> PurchaseCampaign:
    principal.require_member(data.network_id, Role.admin, not_found=NetworkNotFound)
    network = await session.get(Organization, data.network_id)
    if network is None or network.kind != OrganizationKind.network:
        raise NetworkNotFound()
    errors = []
    mins = [t.min_packs for t in data.tiers]
    if len(set(mins)) != len(mins):
        errors.append({"field": "tiers", "detail": "two tiers start at the same pack count"})
    if min(mins) > 1:
        errors.append({"field": "tiers", "detail": "the first tier must start at 0 or 1 pack"})
    closes_at = in_zone(data.closes_at, network.timezone or "UTC")
    if closes_at <= utcnow():
        errors.append({"field": "closes_at", "detail": "must be in the future"})
    if errors:
        raise InvalidCampaign(errors[0]["detail"], errors=errors)
    campaign = PurchaseCampaign(
        network_id=network.id,
        supplier_name=data.supplier_name,
        item_name=data.item_name,
        unit=data.unit,
        pack_size=data.pack_size,
        tiers=[t.model_dump() for t in sorted(data.tiers, key=lambda t: t.min_packs)],
        currency=network.currency or "USD",
        closes_at=closes_at,
    )
    session.add(campaign)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="campaign.create",
        object_type="purchase_campaign",
        object_id=campaign.id,
        organization_id=network.id,
        changes=audit.diff(None, data.model_dump(mode="json")),
    )
    return campaign


def _can_see(principal: Principal, campaign: PurchaseCampaign, members: set[str]) -> bool:
    return principal.is_member(campaign.network_id) or bool(members & set(principal.roles))


async def _network_members(session: AsyncSession, network_id: str) -> set[str]:
    return set(
        await session.scalars(
            select(NetworkAssociation.association_id).where(
                NetworkAssociation.network_id == network_id
            )
        )
    )


async def visible_campaign(
    session: AsyncSession, principal: Principal, campaign_id: str
) -> PurchaseCampaign:
    """The network and its associations see a campaign; nobody else learns it exists."""
    campaign = await session.get(PurchaseCampaign, campaign_id)
    if campaign is None or not _can_see(
        principal, campaign, await _network_members(session, campaign.network_id)
    ):
        raise CampaignNotFound()
    return campaign


async def list_campaigns(
    session: AsyncSession, principal: Principal, *, network_id: str | None, page: PageParams
) -> tuple[Sequence[PurchaseCampaign], str | None]:
    stmt = select(PurchaseCampaign)
    if not principal.is_platform_admin:
        mine = list(principal.roles)
        networks = select(NetworkAssociation.network_id).where(
            col(NetworkAssociation.association_id).in_(mine)
        )
        stmt = stmt.where(
            col(PurchaseCampaign.network_id).in_(mine)
            | col(PurchaseCampaign.network_id).in_(networks)
        )
    if network_id is not None:
        stmt = stmt.where(PurchaseCampaign.network_id == network_id)
    return await paginate(session, stmt, key=col(PurchaseCampaign.id), params=page)


async def add_request(
    session: AsyncSession, principal: Principal, campaign_id: str, data: RequestCreate
) -> PurchaseRequest:
    campaign = await visible_campaign(session, principal, campaign_id)
    principal.require_member(data.association_id)
    if data.association_id not in await _network_members(session, campaign.network_id):
        raise InvalidCampaign(
            errors=[{"field": "association_id", "detail": "not an association of the network"}]
        )
    if campaign.status != CampaignStatus.open or utcnow() >= campaign.closes_at:
        raise CampaignClosed()
    if await session.scalar(
        select(PurchaseRequest.id).where(
            PurchaseRequest.campaign_id == campaign.id,
            PurchaseRequest.association_id == data.association_id,
        )
    ):
        raise RequestExists()
    request = PurchaseRequest(
        campaign_id=campaign.id,
        association_id=data.association_id,
        quantity=data.quantity,
        tolerance=data.tolerance,
    )
    session.add(request)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="campaign.request",
        object_type="purchase_request",
        object_id=request.id,
        organization_id=data.association_id,
        changes=audit.diff(None, {"quantity": data.quantity, "tolerance": data.tolerance}),
    )
    return request


async def close_campaign(
    session: AsyncSession, principal: Principal, campaign_id: str, *, now: datetime
) -> PurchaseCampaign:
    """Round, allocate, price and share; closing twice changes nothing."""
    campaign = await visible_campaign(session, principal, campaign_id)
    principal.require_member(campaign.network_id, Role.admin, not_found=CampaignNotFound)
    if campaign.status == CampaignStatus.closed:
        return campaign
    requests = (
        await session.scalars(
            select(PurchaseRequest).where(PurchaseRequest.campaign_id == campaign.id)
        )
    ).all()
    plan = algo.plan_purchase(
        [algo.PurchaseRequest(r.association_id, r.quantity, r.tolerance) for r in requests],
        pack_size=campaign.pack_size,
        tiers=_tiers([PackTierIn.model_validate(t) for t in campaign.tiers]),
    )
    shares = {s.association_id: s for s in plan.shares}
    for request in requests:
        share = shares[request.association_id]
        request.allocated_quantity = share.quantity
        request.cost_cents = share.cost_cents
        request.cost_alone_cents = share.cost_alone_cents
    campaign.status = CampaignStatus.closed
    campaign.closed_at = now
    campaign.packs = plan.packs
    campaign.pack_price_cents = plan.pack_price_cents
    campaign.total_cost_cents = plan.total_cost_cents
    campaign.rounding = plan.rounding
    await session.flush()
    await audit.record(
        session,
        principal,
        action="campaign.close",
        object_type="purchase_campaign",
        object_id=campaign.id,
        organization_id=campaign.network_id,
        changes=audit.diff(
            None,
            {
                "packs": plan.packs,
                "total_cost_cents": plan.total_cost_cents,
                "rounding": plan.rounding,
            },
        ),
    )
    await events.emit(
        session,
        "joint_purchase.closed",
        key=campaign.id,
        audience=[campaign.network_id, *(r.association_id for r in requests)],
        payload={
            "campaign_id": campaign.id,
            "network_id": campaign.network_id,
            "supplier_name": campaign.supplier_name,
            "item_name": campaign.item_name,
            "unit": campaign.unit,
            "currency": campaign.currency,
            "packs": plan.packs,
            "pack_size": campaign.pack_size,
            "pack_price_cents": plan.pack_price_cents,
            "total_cost_cents": plan.total_cost_cents,
            "shares": [
                {
                    "association_id": r.association_id,
                    "asked": r.quantity,
                    "quantity": r.allocated_quantity,
                    "cost_cents": r.cost_cents,
                    "cost_alone_cents": r.cost_alone_cents,
                }
                for r in requests
            ],
        },
    )
    return campaign


async def campaign_public(
    session: AsyncSession, principal: Principal, campaign: PurchaseCampaign
) -> CampaignPublic:
    """The campaign; an association sees its own request and share, the network all."""
    stmt = select(PurchaseRequest).where(PurchaseRequest.campaign_id == campaign.id)
    if not principal.is_member(campaign.network_id):
        stmt = stmt.where(col(PurchaseRequest.association_id).in_(list(principal.roles)))
    requests = (await session.scalars(stmt.order_by(col(PurchaseRequest.association_id)))).all()
    closed = campaign.status == CampaignStatus.closed
    return CampaignPublic(
        id=campaign.id,
        network_id=campaign.network_id,
        supplier_name=campaign.supplier_name,
        item_name=campaign.item_name,
        unit=campaign.unit,
        pack_size=campaign.pack_size,
        tiers=[PackTierIn.model_validate(t) for t in campaign.tiers],
        currency=campaign.currency,
        closes_at=campaign.closes_at,
        status=campaign.status,
        packs=campaign.packs,
        pack_price_cents=campaign.pack_price_cents,
        total_cost_cents=campaign.total_cost_cents,
        rounding=campaign.rounding,
        requests=[RequestPublic.model_validate(r, from_attributes=True) for r in requests],
        shares=[
            SharePublic(
                association_id=r.association_id,
                quantity=r.allocated_quantity or 0,
                cost_cents=r.cost_cents or 0,
                cost_alone_cents=r.cost_alone_cents or 0,
                saved_cents=(r.cost_alone_cents or 0) - (r.cost_cents or 0),
            )
            for r in requests
        ]
        if closed
        else [],
    )

"""The network dashboard: revenue, the producers' share of it, volumes, kilometres saved,
and how evenly income spreads across the network's associations and their members (Gini
index), with what every allocation policy would have given the settled cycles."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.exceptions import NetworkNotFound
from app.accounts.models import NetworkAssociation, Organization, OrganizationKind
from app.accounts.principal import Principal
from app.aggregation import season
from app.aggregation.fairness import counted_members, gini, gini_per_member
from app.brands.models import BrandSku
from app.fulfilment.models import RoutePlan
from app.orders.models import CycleStatus, OrderCycle
from app.settlement.models import CreditNote, CreditNoteLine, Invoice, InvoiceLine, Payout
from app.settlement.schemas import Dashboard, SkuVolume


async def network_dashboard(
    session: AsyncSession, principal: Principal, network_id: str
) -> Dashboard:
    principal.require_member(network_id, not_found=NetworkNotFound)
    network = await session.get(Organization, network_id)
    if network is None or network.kind != OrganizationKind.network:
        raise NetworkNotFound()
    settled_cycles = list(
        await session.scalars(
            select(OrderCycle)
            .where(OrderCycle.network_id == network_id, OrderCycle.status == CycleStatus.settled)
            .order_by(col(OrderCycle.delivery_date), col(OrderCycle.closed_at), col(OrderCycle.id))
        )
    )
    settled = [c.id for c in settled_cycles]
    invoices = (
        await session.scalars(select(Invoice).where(col(Invoice.cycle_id).in_(settled)))
    ).all()
    volume: dict[str, Decimal] = defaultdict(Decimal)
    revenue_by_sku: dict[str, int] = defaultdict(int)
    for line in await session.scalars(
        select(InvoiceLine).where(col(InvoiceLine.invoice_id).in_([i.id for i in invoices]))
    ):
        volume[line.sku_id] += line.quantity
        revenue_by_sku[line.sku_id] += line.amount_cents
    # what credit notes took back is neither sold nor revenue
    for credited in await session.scalars(
        select(CreditNoteLine)
        .join(CreditNote, col(CreditNote.id) == col(CreditNoteLine.credit_note_id))
        .where(col(CreditNote.cycle_id).in_(settled))
    ):
        volume[credited.sku_id] -= credited.quantity
        revenue_by_sku[credited.sku_id] -= credited.amount_cents
    names = dict(
        (
            await session.execute(
                select(BrandSku.id, BrandSku.name).where(col(BrandSku.id).in_(list(volume)))
            )
        ).all()
    )
    payouts = (await session.scalars(select(Payout).where(col(Payout.cycle_id).in_(settled)))).all()
    income: dict[str, int] = defaultdict(int)
    for payout in payouts:
        income[payout.association_id] += payout.amount_cents
    associations = (
        await session.scalars(
            select(Organization)
            .join(
                NetworkAssociation,
                col(NetworkAssociation.association_id) == col(Organization.id),
            )
            .where(NetworkAssociation.network_id == network_id)
        )
    ).all()
    paid = [a for a in associations if income.get(a.id, 0) > 0]
    revenue = sum(revenue_by_sku.values())
    producer_income = sum(income.values())
    routed_km, direct_km = await delivery_km(session, settled)
    members = counted_members({a.id: a.members_total for a in associations})
    replay, _ = await season.season_cycles(session, settled_cycles)
    what_if = season.what_if(
        replay,
        associations,
        floor_percent=season.floor_percent(network),
        in_use={c.allocation_policy for c in settled_cycles},
    )
    return Dashboard(
        network_id=network_id,
        network_name=network.name,
        currency=network.currency or "USD",
        cycles_settled=len(settled),
        revenue_cents=revenue,
        producer_income_cents=producer_income,
        producer_share=round(producer_income / revenue, 4) if revenue else 0.0,
        volume_by_sku=[
            SkuVolume(
                sku_id=sku_id,
                sku_name=names.get(sku_id, ""),
                name=names.get(sku_id, ""),
                quantity=volume[sku_id],
                revenue_cents=revenue_by_sku[sku_id],
            )
            for sku_id in sorted(volume, key=lambda s: (-revenue_by_sku[s], s))
        ],
        direct_delivery_km=direct_km,
        routed_km=routed_km,
        income_gini=float(gini([income.get(a.id, 0) for a in associations])),
        income_gini_per_member=float(
            gini_per_member({a.id: income.get(a.id, 0) for a in associations}, members)
        ),
        allocation_floor_percent=season.floor_percent(network),
        what_if=what_if,
        associations_paid=len(paid),
        associations_total=len(associations),
        members_women_reached=sum(a.members_women or 0 for a in paid),
        members_reached=sum(a.members_total or 0 for a in paid),
    )


async def delivery_km(session: AsyncSession, cycle_ids: list[str]) -> tuple[float, float]:
    """Kilometres driven in the cycles' route plans (routes plus the associations' trips to
    the centre), and what direct delivery by each association would have driven instead."""
    plans = (
        await session.scalars(select(RoutePlan).where(col(RoutePlan.cycle_id).in_(cycle_ids)))
    ).all()
    routed = sum(p.routed_m + p.legs_to_centre_m for p in plans) / 1000
    direct = sum(p.direct_delivery_m for p in plans) / 1000
    return round(routed, 1), round(direct, 1)

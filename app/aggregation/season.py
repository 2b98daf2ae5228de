"""The season's fairness: the network's floor setting, the season report, and the what-if
that replays the season's cycles under every policy for the network's assembly.

The what-if reads back what each closed cycle allocated — the offers, each SKU's demand (the
sum of its allocations) and the quantities buyers pinned — and allocates it again, cycle by
cycle in delivery order, with each policy (``fairness.simulate_season``, pure). Income is
the producer income allocated (price times quantity, half up per allocation), before any
shortfall at the collection centre.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts import audit
from app.accounts.exceptions import NetworkNotFound
from app.accounts.models import NetworkAssociation, Organization, OrganizationKind, Role
from app.accounts.principal import Principal
from app.aggregation.fairness import (
    SeasonCycle,
    counted_members,
    gini,
    gini_per_member,
    simulate_season,
)
from app.aggregation.models import Allocation
from app.aggregation.schemas import (
    AssociationIncome,
    FloorSetting,
    FloorSettingPublic,
    PolicyOutcome,
    SeasonReport,
)
from app.aggregation.types import Offer, Pin, Policy
from app.brands.models import BrandSku
from app.core.i18n import N_, current_language, gettext
from app.core.money import cents_times
from app.orders.models import DEFAULT_FLOOR_PERCENT, CycleStatus, OrderCycle
from app.orders.models import Offer as OfferRow

LABELS = {
    Policy.proportional: N_("Proportional to what each association offered"),
    Policy.equal_share: N_("Equal shares among the associations"),
    Policy.income_equalizing: N_("Income evened out per association"),
    Policy.per_member_equalizing: N_("Income evened out per member, with a floor"),
}
CLOSED = (CycleStatus.closed, CycleStatus.settling, CycleStatus.settled)


async def network_of(session: AsyncSession, principal: Principal, network_id: str) -> Organization:
    principal.require_member(network_id, not_found=NetworkNotFound)
    network = await session.get(Organization, network_id)
    if network is None or network.kind != OrganizationKind.network:
        raise NetworkNotFound()
    return network


def floor_percent(network: Organization) -> int:
    if network.allocation_floor_percent is None:
        return DEFAULT_FLOOR_PERCENT
    return network.allocation_floor_percent


async def set_floor(
    session: AsyncSession, principal: Principal, network_id: str, data: FloorSetting
) -> FloorSettingPublic:
    """Set the network's floor; the cycles created from now on take it."""
    principal.require_member(network_id, Role.admin, not_found=NetworkNotFound)
    network = await network_of(session, principal, network_id)
    before = floor_percent(network)
    network.allocation_floor_percent = data.allocation_floor_percent
    session.add(network)
    await session.flush()
    await audit.record(
        session,
        principal,
        action="network.allocation_floor",
        object_type="organization",
        object_id=network.id,
        organization_id=network.id,
        changes=audit.diff(
            {"allocation_floor_percent": before},
            {"allocation_floor_percent": data.allocation_floor_percent},
        ),
    )
    return FloorSettingPublic(
        network_id=network.id, allocation_floor_percent=floor_percent(network)
    )


async def associations_of(session: AsyncSession, network_id: str) -> list[Organization]:
    return list(
        (
            await session.scalars(
                select(Organization)
                .join(
                    NetworkAssociation,
                    col(NetworkAssociation.association_id) == col(Organization.id),
                )
                .where(NetworkAssociation.network_id == network_id)
                .order_by(col(Organization.id))
            )
        ).all()
    )


async def season_cycles(
    session: AsyncSession, cycles: Sequence[OrderCycle]
) -> tuple[list[SeasonCycle], dict[str, int]]:
    """The closed ``cycles`` as a season to replay (their SKUs, in delivery order), and the
    producer income each association was allocated in them."""
    ids = [c.id for c in cycles]
    a, o, s = Allocation.__table__, OfferRow.__table__, BrandSku.__table__  # type: ignore[attr-defined]
    allocated = await session.execute(
        sa.select(a.c.cycle_id, a.c.sku_id, a.c.association_id, a.c.quantity, a.c.pinned,
                  a.c.producer_price_cents)
        .where(a.c.cycle_id.in_(ids))
    )  # fmt: skip
    demand: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    pins: dict[tuple[str, str], dict[str, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    price: dict[tuple[str, str], int] = {}
    income: dict[str, int] = defaultdict(int)
    for row in allocated:
        key = (row.cycle_id, row.sku_id)
        demand[key] += row.quantity
        if row.pinned:
            pins[key][row.association_id] += row.pinned
        price[key] = row.producer_price_cents
        income[row.association_id] += cents_times(row.producer_price_cents, row.quantity)
    offers: dict[tuple[str, str], list[Offer]] = defaultdict(list)
    for row in await session.execute(
        sa.select(o.c.id, o.c.cycle_id, o.c.sku_id, o.c.association_id, o.c.quantity,
                  o.c.min_delivery)
        .where(o.c.cycle_id.in_(ids), o.c.quantity > 0)
    ):  # fmt: skip
        offers[row.cycle_id, row.sku_id].append(
            Offer(row.id, row.association_id, row.quantity, row.min_delivery)
        )
    rows = await session.execute(
        sa.select(s.c.id, s.c.pack_size).where(s.c.id.in_(sorted({sku for _, sku in demand})))
    )
    steps: dict[str, Decimal] = dict(rows.all())
    season = []
    for number, cycle in enumerate(cycles):
        for cycle_id, sku_id in sorted(k for k in demand if k[0] == cycle.id):
            key = (cycle_id, sku_id)
            if demand[key] <= 0 or not offers[key]:
                continue
            season.append(
                SeasonCycle(
                    demand[key],
                    tuple(offers[key]),
                    step=steps[sku_id],
                    unit_value_cents=price[key],
                    pins=tuple(Pin(a, q) for a, q in sorted(pins[key].items())),
                    cycle=number,
                )
            )
    return season, dict(income)


def what_if(
    season: Sequence[SeasonCycle],
    associations: Sequence[Organization],
    *,
    floor_percent: int,
    in_use: set[str],
) -> list[PolicyOutcome]:
    """Every policy on the same season (pure once the season is loaded)."""
    members = counted_members({a.id: a.members_total for a in associations})
    largest = max(associations, key=lambda a: (members[a.id], a.id), default=None)
    outcomes = []
    for policy in Policy:
        try:
            income = simulate_season(
                season,
                policy=policy,
                members=members,
                floor_share=Decimal(floor_percent) / 100,
            )
        except ValueError:  # a cycle that cannot be replayed (offers changed since): skipped
            continue
        full = {a.id: income.get(a.id, 0) for a in associations}
        reached = [a for a in associations if full[a.id] > 0]
        total = sum(full.values())
        outcomes.append(
            PolicyOutcome(
                policy=policy.value,
                label=gettext(LABELS[policy]),
                in_use=policy.value in in_use,
                income_gini=float(gini(list(full.values()))),
                income_gini_per_member=float(gini_per_member(full, members)),
                members_reached=sum(a.members_total or 0 for a in reached),
                members_women_reached=sum(a.members_women or 0 for a in reached),
                largest_association_share=round(full[largest.id] / total, 4)
                if largest is not None and total
                else 0.0,
            )
        )
    return outcomes


async def season_report(
    session: AsyncSession, principal: Principal, network_id: str, year: int
) -> SeasonReport:
    network = await network_of(session, principal, network_id)
    cycles = list(
        (
            await session.scalars(
                select(OrderCycle)
                .where(
                    OrderCycle.network_id == network_id,
                    col(OrderCycle.status).in_(CLOSED),
                    col(OrderCycle.delivery_date) >= date(year, 1, 1),
                    col(OrderCycle.delivery_date) <= date(year, 12, 31),
                )
                .order_by(
                    col(OrderCycle.delivery_date), col(OrderCycle.closed_at), col(OrderCycle.id)
                )
            )
        ).all()
    )
    associations = await associations_of(session, network_id)
    season, allocated = await season_cycles(session, cycles)
    members = counted_members({a.id: a.members_total for a in associations})
    income = {a.id: allocated.get(a.id, 0) for a in associations}
    reached = [a for a in associations if income[a.id] > 0]
    used = sorted({c.allocation_policy for c in cycles})
    outcomes = what_if(season, associations, floor_percent=floor_percent(network), in_use=set(used))
    return SeasonReport(
        network_id=network.id,
        network_name=network.name,
        year=year,
        language=current_language(),
        currency=network.currency or "USD",
        cycles=len(cycles),
        allocation_floor_percent=floor_percent(network),
        policies_used=used,
        income_cents=sum(income.values()),
        income_gini=float(gini(list(income.values()))),
        income_gini_per_member=float(gini_per_member(income, members)),
        members_total=sum(a.members_total or 0 for a in associations),
        members_women=sum(a.members_women or 0 for a in associations),
        members_reached=sum(a.members_total or 0 for a in reached),
        members_women_reached=sum(a.members_women or 0 for a in reached),
        associations=[
            AssociationIncome(
                association_id=a.id,
                association_name=a.name,
                members_total=a.members_total,
                members_women=a.members_women,
                income_cents=income[a.id],
                income_per_member_cents=income[a.id] // members[a.id],
            )
            for a in associations
        ],
        what_if=outcomes,
        summary=summary(outcomes),
    )


def summary(outcomes: Sequence[PolicyOutcome]) -> str:
    """The what-if in one sentence: per member, the fairest policy against proportional."""
    by_policy = {o.policy: o for o in outcomes}
    fair, base = by_policy.get(Policy.per_member_equalizing), by_policy.get(Policy.proportional)
    if fair is None or base is None:
        return gettext(N_("No closed cycle to compare the policies on yet."))
    return gettext(
        N_(
            "Per member, the Gini index is {fair} with income evened out per member and "
            "{base} with proportional allocation (0 is equality)."
        )
    ).format(fair=_number(fair.income_gini_per_member), base=_number(base.income_gini_per_member))


def _number(value: float) -> str:
    """Three decimals, with the decimal comma in Spanish."""
    text = f"{value:.3f}"
    return text.replace(".", ",") if current_language() == "es" else text

"""richer route constraints: vehicle crates, costs, maximum route and break; buyers' further
delivery windows; crates, costs and breaks on stored plans

Revision ID: 0018_route_constraints
Revises: 0016_tax_rates
Create Date: 2026-12-02 06:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_route_constraints"
down_revision: str | None = "0017_member_fairness"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _int(name: str, default: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=False, server_default=default)


def upgrade() -> None:
    # existing vehicles keep today's plans: no crate limit, no fixed cost, one dollar per km
    # for every vehicle (equal per-km costs: the shortest distance), no maximum route and
    # no break
    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("capacity_crates", sa.Integer(), nullable=True))
        batch_op.add_column(_int("fixed_cost_cents", "0"))
        batch_op.add_column(_int("cost_per_km_cents", "100"))
        batch_op.add_column(sa.Column("max_route_minutes", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("break_start_min", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("break_end_min", sa.Integer(), nullable=True))
        batch_op.add_column(_int("break_minutes", "0"))
        for column in ("fixed_cost_cents", "cost_per_km_cents", "break_minutes"):
            batch_op.alter_column(column, server_default=None)
        batch_op.create_check_constraint(
            op.f("ck_vehicles_crates_positive"), "capacity_crates IS NULL OR capacity_crates > 0"
        )
        batch_op.create_check_constraint(
            op.f("ck_vehicles_costs_not_negative"),
            "fixed_cost_cents >= 0 AND cost_per_km_cents >= 0",
        )
        batch_op.create_check_constraint(
            op.f("ck_vehicles_max_route_positive"),
            "max_route_minutes IS NULL OR max_route_minutes > 0",
        )
        batch_op.create_check_constraint(
            op.f("ck_vehicles_break_complete"),
            "(break_start_min IS NULL AND break_end_min IS NULL AND break_minutes = 0) OR "
            "(break_end_min >= break_start_min AND break_minutes > 0)",
        )

    with op.batch_alter_table("delivery_windows", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("more_windows", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.alter_column("more_windows", server_default=None)

    with op.batch_alter_table("route_plans", schema=None) as batch_op:
        batch_op.add_column(_int("cost_cents", "0"))
        batch_op.alter_column("cost_cents", server_default=None)

    with op.batch_alter_table("planned_routes", schema=None) as batch_op:
        batch_op.add_column(_int("crates", "0"))
        batch_op.add_column(_int("cost_cents", "0"))
        batch_op.add_column(sa.Column("break_start_s", sa.Integer(), nullable=True))
        batch_op.alter_column("crates", server_default=None)
        batch_op.alter_column("cost_cents", server_default=None)

    with op.batch_alter_table("route_stops", schema=None) as batch_op:
        batch_op.add_column(_int("crates", "0"))
        batch_op.alter_column("crates", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("route_stops", schema=None) as batch_op:
        batch_op.drop_column("crates")

    with op.batch_alter_table("planned_routes", schema=None) as batch_op:
        batch_op.drop_column("break_start_s")
        batch_op.drop_column("cost_cents")
        batch_op.drop_column("crates")

    with op.batch_alter_table("route_plans", schema=None) as batch_op:
        batch_op.drop_column("cost_cents")

    with op.batch_alter_table("delivery_windows", schema=None) as batch_op:
        batch_op.drop_column("more_windows")

    with op.batch_alter_table("vehicles", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_vehicles_break_complete"), type_="check")
        batch_op.drop_constraint(op.f("ck_vehicles_max_route_positive"), type_="check")
        batch_op.drop_constraint(op.f("ck_vehicles_costs_not_negative"), type_="check")
        batch_op.drop_constraint(op.f("ck_vehicles_crates_positive"), type_="check")
        for column in (
            "break_minutes",
            "break_end_min",
            "break_start_min",
            "max_route_minutes",
            "cost_per_km_cents",
            "fixed_cost_cents",
            "capacity_crates",
        ):
            batch_op.drop_column(column)

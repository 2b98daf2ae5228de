"""per-member fairness: the floor of per_member_equalizing, per network and per cycle

Revision ID: 0017_member_fairness
Revises: 0016_tax_rates
Create Date: 2026-12-02 06:20:00.000000

``allocation_policy`` is a string column (no database enum type), so the new policy
``per_member_equalizing`` needs no change to it.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_member_fairness"
down_revision: str | None = "0016_tax_rates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("allocation_floor_percent", sa.Integer(), nullable=True))
    # the cycles created before this keep the default floor (their policy did not use it)
    with op.batch_alter_table("order_cycles", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("allocation_floor_percent", sa.Integer(), nullable=False, server_default="50")
        )
        batch_op.alter_column("allocation_floor_percent", server_default=None)
        batch_op.create_check_constraint(
            op.f("ck_order_cycles_allocation_floor_in_range"),
            "allocation_floor_percent >= 0 AND allocation_floor_percent <= 100",
        )


def downgrade() -> None:
    with op.batch_alter_table("order_cycles", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_order_cycles_allocation_floor_in_range"), type_="check")
        batch_op.drop_column("allocation_floor_percent")
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("allocation_floor_percent")

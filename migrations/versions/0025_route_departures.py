"""when each planned route left the centre: its buyers are told their goods are on the way

Revision ID: 0025_route_departures
Revises: 0024_operations
Create Date: 2026-12-08 02:18:59.186773
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0025_route_departures"
down_revision: str | None = "0024_operations"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("planned_routes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("departed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("planned_routes", schema=None) as batch_op:
        batch_op.drop_column("departed_at")

"""sheet drafts: unpublished changes of published sheets; suspended supplier links

A published sheet keeps its public face in its row; what its association changes afterwards
waits in ``products.draft`` until it is published again. Publishing checks the brand rules
again, and a supplier link whose sheet fails them is suspended with the failed rules.

Revision ID: 0009_sheet_drafts
Revises: 0008
Create Date: 2026-12-01 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_sheet_drafts"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draft", sa.JSON(), nullable=True))
        batch_op.add_column(
            sa.Column("draft_updated_at", sa.DateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("sku_suppliers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("suspension_errors", sa.JSON(), nullable=True))


def downgrade() -> None:
    # The suspension has no place in the older schema: a suspended link is withdrawn, so that
    # it still supplies nothing and a network admin can approve it again.
    sku_suppliers = sa.table(
        "sku_suppliers",
        sa.column("status", sa.String()),
        sa.column("withdrawn_at", sa.DateTime(timezone=True)),
        sa.column("suspended_at", sa.DateTime(timezone=True)),
    )
    op.execute(
        sku_suppliers.update()
        .where(sku_suppliers.c.status == "suspended")
        .values(status="withdrawn", withdrawn_at=sku_suppliers.c.suspended_at)
    )
    with op.batch_alter_table("sku_suppliers", schema=None) as batch_op:
        batch_op.drop_column("suspension_errors")
        batch_op.drop_column("suspended_at")
    # Unpublished drafts are dropped with their column: the older schema edits in place.
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_column("draft_updated_at")
        batch_op.drop_column("draft")

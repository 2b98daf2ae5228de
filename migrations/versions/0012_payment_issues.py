"""payment issues: card orders that could not be charged

Revision ID: 0012_payment_issues
Revises: 0011_idempotency_claims
Create Date: 2026-12-01 21:20:18.839489
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_payment_issues"
down_revision: str | None = "0011_idempotency_claims"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payment_issue", sa.String(length=500), nullable=True))


def downgrade() -> None:
    # a settlement still under way goes back to closed: it is run again from the start
    op.execute("UPDATE order_cycles SET status = 'closed' WHERE status = 'settling'")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("payment_issue")

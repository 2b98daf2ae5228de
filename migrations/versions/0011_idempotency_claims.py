"""idempotency claims: in progress with a lease, then done

Revision ID: 0011_idempotency_claims
Revises: 0010_order_ledger
Create Date: 2026-12-01 21:08:00.147659
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_idempotency_claims"
down_revision: str | None = "0010_order_ledger"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(length=16), nullable=False, server_default="done")
        )
        batch_op.alter_column("state", server_default=None)
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.alter_column("status_code", existing_type=sa.INTEGER(), nullable=True)
        batch_op.alter_column("response", existing_type=sa.JSON(), nullable=True)


def downgrade() -> None:
    # claims still in progress have no answer to keep
    op.execute("DELETE FROM idempotency_keys WHERE state <> 'done'")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.alter_column("response", existing_type=sa.JSON(), nullable=False)
        batch_op.alter_column("status_code", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("locked_until")
        batch_op.drop_column("state")

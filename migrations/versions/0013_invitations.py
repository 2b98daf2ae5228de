"""invitations: people invited to organisations, associations invited to networks

Revision ID: 0013_invitations
Revises: 0012_payment_issues
Create Date: 2026-12-02 00:59:34.858612
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_invitations"
down_revision: str | None = "0012_payment_issues"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "member_invitations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("organization_id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("full_name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pending_email", sa.String(length=254), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("invited_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("accepted_user_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["accepted_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["invited_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("organization_id", "pending_email"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("member_invitations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_member_invitations_email"), ["email"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_member_invitations_organization_id"), ["organization_id"], unique=False
        )

    op.create_table(
        "network_invitations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("association_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("pending_association_id", sa.String(length=36), nullable=True),
        sa.Column("invited_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("decided_by_user_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["association_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["decided_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["invited_by_user_id"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["network_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("network_id", "pending_association_id"),
    )
    with op.batch_alter_table("network_invitations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_network_invitations_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_network_invitations_network_id"), ["network_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("network_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_network_invitations_network_id"))
        batch_op.drop_index(batch_op.f("ix_network_invitations_association_id"))

    op.drop_table("network_invitations")
    with op.batch_alter_table("member_invitations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_member_invitations_organization_id"))
        batch_op.drop_index(batch_op.f("ix_member_invitations_email"))

    op.drop_table("member_invitations")

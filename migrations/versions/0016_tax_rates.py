"""tax rates per network and category, taxes on invoices

Revision ID: 0016_tax_rates
Revises: 0015_org_contact
Create Date: 2026-12-02 01:38:14.668517
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_tax_rates"
down_revision: str | None = "0015_org_contact"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # invoices and credit notes issued before this had no tax: 0, then no default
    op.create_table(
        "tax_rates",
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("rate_bps", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by_user_id", sa.String(length=36), nullable=True),
        sa.CheckConstraint(
            "rate_bps >= 0 AND rate_bps <= 10000", name=op.f("ck_tax_rates_rate_in_range")
        ),
        sa.ForeignKeyConstraint(
            ["category"], ["categories.slug"], name=op.f("fk_tax_rates_category_categories")
        ),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["organizations.id"],
            name=op.f("fk_tax_rates_network_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("network_id", "category", name=op.f("pk_tax_rates")),
    )
    with op.batch_alter_table("credit_note_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tax_cents", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.alter_column("tax_cents", server_default=None)

    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tax_rate_bps", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.alter_column("tax_rate_bps", server_default=None)
        batch_op.add_column(
            sa.Column("tax_cents", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.alter_column("tax_cents", server_default=None)

    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tax_cents", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.alter_column("tax_cents", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_column("tax_cents")

    with op.batch_alter_table("invoice_lines", schema=None) as batch_op:
        batch_op.drop_column("tax_cents")
        batch_op.drop_column("tax_rate_bps")

    with op.batch_alter_table("credit_note_lines", schema=None) as batch_op:
        batch_op.drop_column("tax_cents")

    op.drop_table("tax_rates")

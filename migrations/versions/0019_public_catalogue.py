"""the catalogue's change stamp (moved by catalogue changes only, not by orders) and a
network's choice to show its published catalogue to anonymous visitors

Revision ID: 0019_public_catalogue
Revises: 0018_route_constraints
Create Date: 2026-12-02 22:00:00
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019_public_catalogue"
down_revision: str | None = "0018_route_constraints"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    stamps = op.create_table(
        "change_stamps",
        sa.Column("name", sa.String(length=40), nullable=False),
        # unique per database, so that stamps of two databases (tests, several networks'
        # deployments on one host) never name the same cached pages
        sa.Column("epoch", sa.String(length=36), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_change_stamps")),
    )
    op.bulk_insert(stamps, [{"name": "catalogue", "epoch": uuid.uuid4().hex, "version": 0}])
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("public_catalogue", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.alter_column("public_catalogue", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("organizations", schema=None) as batch_op:
        batch_op.drop_column("public_catalogue")
    op.drop_table("change_stamps")

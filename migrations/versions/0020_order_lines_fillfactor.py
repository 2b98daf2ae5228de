"""order lines keep half of each page free, so that the close's update of every line of a
cycle is a HOT update (docs/bench-close-cycle.md)

Revision ID: 0020_order_lines_fillfactor
Revises: 0019_public_catalogue
Create Date: 2026-12-03 13:50:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020_order_lines_fillfactor"
down_revision: str | None = "0019_public_catalogue"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # PostgreSQL only (a storage parameter; SQLite has none). It applies to the pages
    # filled from now on: existing lines are not rewritten.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE order_lines SET (fillfactor = 50)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE order_lines RESET (fillfactor)")

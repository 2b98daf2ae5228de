"""brands: regional brands, licences, skus, tiers, suppliers

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 14:48:33.949264
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "brands",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("network_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("slug", sa.String(length=60), nullable=False),
        sa.Column("story", sa.Text(), nullable=False),
        sa.Column("territory_provinces", sa.JSON(), nullable=False),
        sa.Column("territory_cantons", sa.JSON(), nullable=False),
        sa.Column("required_certifications", sa.JSON(), nullable=False),
        sa.Column("allowed_categories", sa.JSON(), nullable=False),
        sa.Column("sanitary_registration_required_for", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["network_id"],
            ["organizations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    with op.batch_alter_table("brands", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_brands_network_id"), ["network_id"], unique=False)

    op.create_table(
        "brand_licenses",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=36), nullable=False),
        sa.Column("association_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["organizations.id"],
        ),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("brand_id", "association_id"),
    )
    with op.batch_alter_table("brand_licenses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_brand_licenses_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_brand_licenses_brand_id"), ["brand_id"], unique=False)

    op.create_table(
        "brand_skus",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("brand_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("pack_size", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("unit_weight_kg", sa.Numeric(precision=10, scale=3), nullable=True),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("producer_price_cents", sa.Integer(), nullable=False),
        sa.Column("solidarity_fund_bps", sa.Integer(), nullable=False),
        sa.Column("logistics_share_bps", sa.Integer(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "logistics_share_bps >= 0 AND logistics_share_bps <= 10000", name="logistics_bps_range"
        ),
        sa.CheckConstraint("pack_size > 0", name="pack_size_positive"),
        sa.CheckConstraint("producer_price_cents > 0", name="producer_price_positive"),
        sa.CheckConstraint(
            "solidarity_fund_bps >= 0 AND solidarity_fund_bps <= 10000", name="fund_bps_range"
        ),
        sa.ForeignKeyConstraint(["brand_id"], ["brands.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(
            ["category"],
            ["categories.slug"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("brand_skus", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_brand_skus_brand_id"), ["brand_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_brand_skus_category"), ["category"], unique=False)

    op.create_table(
        "sku_price_tiers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("min_quantity", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("unit_price_cents", sa.Integer(), nullable=False),
        sa.CheckConstraint("unit_price_cents > 0", name="price_positive"),
        sa.ForeignKeyConstraint(["sku_id"], ["brand_skus.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku_id", "min_quantity"),
    )
    with op.batch_alter_table("sku_price_tiers", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sku_price_tiers_sku_id"), ["sku_id"], unique=False)

    op.create_table(
        "sku_suppliers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("sku_id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("association_id", sa.String(length=36), nullable=False),
        sa.Column("product_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["organizations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["product_id"],
            ["products.id"],
        ),
        sa.ForeignKeyConstraint(["sku_id"], ["brand_skus.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku_id", "product_id"),
    )
    with op.batch_alter_table("sku_suppliers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sku_suppliers_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_sku_suppliers_product_id"), ["product_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_sku_suppliers_sku_id"), ["sku_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("sku_suppliers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sku_suppliers_sku_id"))
        batch_op.drop_index(batch_op.f("ix_sku_suppliers_product_id"))
        batch_op.drop_index(batch_op.f("ix_sku_suppliers_association_id"))

    op.drop_table("sku_suppliers")
    with op.batch_alter_table("sku_price_tiers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sku_price_tiers_sku_id"))

    op.drop_table("sku_price_tiers")
    with op.batch_alter_table("brand_skus", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_brand_skus_category"))
        batch_op.drop_index(batch_op.f("ix_brand_skus_brand_id"))

    op.drop_table("brand_skus")
    with op.batch_alter_table("brand_licenses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_brand_licenses_brand_id"))
        batch_op.drop_index(batch_op.f("ix_brand_licenses_association_id"))

    op.drop_table("brand_licenses")
    with op.batch_alter_table("brands", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_brands_network_id"))

    op.drop_table("brands")

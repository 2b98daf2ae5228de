"""catalog: product sheets, certifications, versions, images

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 14:46:27.966075
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The category taxonomy as of this revision (app.catalog.categories.TAXONOMY; a test keeps
# them equal): slug, Spanish name, processed food.
TAXONOMY = [
    ("dairy", "Lácteos", True),
    ("eggs", "Huevos", False),
    ("poultry", "Aves de corral", False),
    ("small_livestock", "Especies menores (cuy, conejo)", False),
    ("produce", "Frutas y hortalizas", False),
    ("andean_grains", "Granos andinos", False),
    ("flours", "Harinas", True),
    ("fruit_pulps", "Pulpas de fruta", True),
    ("jams", "Mermeladas", True),
    ("seasonings", "Condimentos y aliños", True),
    ("coffee", "Café", False),
    ("panela", "Panela", False),
    ("cacao", "Cacao", False),
    ("feed", "Balanceados y alimento animal", True),
    ("prepared_food", "Comida preparada", True),
    ("crafts", "Artesanías", False),
]


def upgrade() -> None:
    categories = op.create_table(
        "categories",
        sa.Column("slug", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("processed", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("slug"),
    )
    op.bulk_insert(
        categories,
        [
            {"slug": slug, "name": name, "processed": processed}
            for slug, name, processed in TAXONOMY
        ],
    )
    op.create_table(
        "products",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("association_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("category", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("story", sa.Text(), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("pack_size", sa.Numeric(precision=12, scale=3), nullable=False),
        sa.Column("variable_weight", sa.Boolean(), nullable=False),
        sa.Column("shelf_life_days", sa.Integer(), nullable=True),
        sa.Column("storage", sa.String(length=10), nullable=False),
        sa.Column("allergens", sa.JSON(), nullable=False),
        sa.Column("gtin", sa.String(length=14), nullable=True),
        sa.Column("sanitary_authority", sa.String(length=10), nullable=True),
        sa.Column("sanitary_number", sa.String(length=60), nullable=True),
        sa.Column("sanitary_expires_on", sa.Date(), nullable=True),
        sa.Column("origin_parish", sa.String(length=100), nullable=False),
        sa.Column("origin_canton", sa.String(length=100), nullable=False),
        sa.Column("origin_province", sa.String(length=100), nullable=False),
        sa.Column("origin_latitude", sa.Float(), nullable=False),
        sa.Column("origin_longitude", sa.Float(), nullable=False),
        sa.Column("origin_parish_key", sa.String(length=100), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("pack_size > 0", name="pack_size_positive"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        sa.ForeignKeyConstraint(
            ["association_id"],
            ["organizations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["category"],
            ["categories.slug"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_products_association_id"), ["association_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_products_category"), ["category"], unique=False)
        batch_op.create_index(batch_op.f("ix_products_gtin"), ["gtin"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_products_origin_parish_key"), ["origin_parish_key"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_products_status"), ["status"], unique=False)

    op.create_table(
        "product_certifications",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("number", sa.String(length=60), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("product_certifications", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_certifications_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "product_images",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("filename", sa.String(length=100), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_product_images_product_id"), ["product_id"], unique=False
        )

    op.create_table(
        "product_versions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("product_id", sa.String(length=36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("product_id", "version"),
    )


def downgrade() -> None:
    op.drop_table("product_versions")
    with op.batch_alter_table("product_images", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_images_product_id"))

    op.drop_table("product_images")
    with op.batch_alter_table("product_certifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_certifications_product_id"))

    op.drop_table("product_certifications")
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_products_status"))
        batch_op.drop_index(batch_op.f("ix_products_origin_parish_key"))
        batch_op.drop_index(batch_op.f("ix_products_gtin"))
        batch_op.drop_index(batch_op.f("ix_products_category"))
        batch_op.drop_index(batch_op.f("ix_products_association_id"))

    op.drop_table("products")
    op.drop_table("categories")

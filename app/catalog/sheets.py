"""The public shape of product sheets, built for a whole page of rows at once."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col, select

from app.accounts.models import Organization
from app.catalog.models import Product, ProductCertification, ProductImage
from app.catalog.schemas import (
    Certification,
    ImagePublic,
    Origin,
    ProductPublic,
    SanitaryRegistration,
)
from app.core.quantity import quantize

API_PREFIX = "/api/v1"


async def images_of(
    session: AsyncSession, product_ids: Iterable[str]
) -> dict[str, list[ProductImage]]:
    out: dict[str, list[ProductImage]] = defaultdict(list)
    rows = await session.scalars(
        select(ProductImage)
        .where(col(ProductImage.product_id).in_(set(product_ids)))
        .order_by(col(ProductImage.created_at), col(ProductImage.id))
    )
    for row in rows:
        out[row.product_id].append(row)
    return out


def image_url(product_id: str, image_id: str) -> str:
    return f"{API_PREFIX}/products/{product_id}/images/{image_id}"


async def association_names(session: AsyncSession, ids: Iterable[str]) -> dict[str, str]:
    rows = await session.execute(
        select(Organization.id, Organization.name).where(col(Organization.id).in_(set(ids)))
    )
    return dict(rows.all())


def public_sheet(
    product: Product,
    association_name: str,
    certifications: Sequence[ProductCertification],
    images: Sequence[ProductImage],
) -> ProductPublic:
    sanitary = None
    if product.sanitary_authority and product.sanitary_number and product.sanitary_expires_on:
        sanitary = SanitaryRegistration.model_validate(
            {
                "authority": product.sanitary_authority,
                "number": product.sanitary_number,
                "expires_on": product.sanitary_expires_on,
            }
        )
    return ProductPublic.model_validate(
        {
            **{name: getattr(product, name) for name in _COPIED},
            "association_name": association_name,
            "pack_size": quantize(product.pack_size),
            "certifications": [
                Certification.model_validate(
                    {"kind": c.kind, "number": c.number, "expires_on": c.expires_on}
                )
                for c in certifications
            ],
            "sanitary_registration": sanitary,
            "origin": Origin(
                parish=product.origin_parish,
                canton=product.origin_canton,
                province=product.origin_province,
                latitude=product.origin_latitude,
                longitude=product.origin_longitude,
            ),
            "images": [
                ImagePublic(id=i.id, url=image_url(i.product_id, i.id), content_type=i.content_type)
                for i in images
            ],
        }
    )


_COPIED = [
    "id",
    "association_id",
    "name",
    "category",
    "description",
    "story",
    "unit",
    "variable_weight",
    "shelf_life_days",
    "storage",
    "allergens",
    "gtin",
    "status",
    "version",
    "created_at",
    "updated_at",
    "published_at",
]

"""Shapes of the shop window's settings."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.core.schemas import Strict


class PublicCatalogueSetting(Strict):
    public_catalogue: bool = Field(
        description="Whether anyone may read the network's published catalogue "
        "(`GET /skus` without logging in); its prices, suppliers and photos, never its stock "
        "holders or orders"
    )


class PublicCataloguePublic(BaseModel):
    network_id: str
    public_catalogue: bool

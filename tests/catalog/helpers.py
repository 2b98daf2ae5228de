"""Builders of catalogue test data, through the HTTP API."""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image
from stdnum import ean

from tests.utils import Api


def image_bytes(fmt: str, size: tuple[int, int] = (4, 3)) -> bytes:
    """A real, tiny image: uploads are decoded and re-encoded, so magic bytes are not enough."""
    out = io.BytesIO()
    Image.new("RGB", size, (180, 140, 60)).save(out, fmt)
    return out.getvalue()


PNG = image_bytes("PNG")
JPEG = image_bytes("JPEG")
WEBP = image_bytes("WEBP")


def gtin13(body: str = "786123456789") -> str:
    """A GTIN-13 with the right check digit."""
    return body + ean.calc_check_digit(body)


def sheet(association_id: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "association_id": association_id,
        "name": "Queso fresco de Mulaló",
        "category": "dairy",
        "description": "Queso fresco de leche de vaca de páramo, elaborado a mano.",
        "story": "Veinte familias de la asociación ordeñan cada mañana.",
        "unit": "unit",
        "pack_size": "0.500",
        "variable_weight": False,
        "shelf_life_days": 15,
        "storage": "chilled",
        "allergens": ["leche"],
        "certifications": [{"kind": "agroecological", "number": "PGS-17", "expires_on": None}],
        "sanitary_registration": {
            "authority": "ARCSA",
            "number": "12345-ALN-0323",
            "expires_on": "2030-03-31",
        },
        "gtin": gtin13(),
        "origin": {
            "parish": "Mulaló",
            "canton": "Latacunga",
            "province": "Cotopaxi",
            "latitude": -0.7,
            "longitude": -78.57,
        },
    }
    body.update(fields)
    return body


@dataclass
class Catalog:
    """Two associations, each with an admin login, and helpers to write their sheets."""

    api: Api
    association: dict[str, Any]
    staff: dict[str, str]
    other: dict[str, Any]
    other_staff: dict[str, str]

    @classmethod
    async def start(cls, api: Api) -> Catalog:
        association = await api.organization(name="Asociación Sabores de Cotopaxi")
        _, staff = await api.member(association["id"], role="staff")
        other = await api.organization(name="Asociación Nueva Esperanza", parish="Pujilí")
        _, other_staff = await api.member(other["id"], role="staff")
        return cls(api, association, staff, other, other_staff)

    @property
    def client(self) -> httpx.AsyncClient:
        return self.api.client

    async def create(self, headers: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
        fields.setdefault("association_id", self.association["id"])
        r = await self.client.post(
            "/api/v1/products", json=sheet(**fields), headers=headers or self.staff
        )
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    async def publish(self, product_id: str, headers: dict[str, str] | None = None) -> Any:
        r = await self.client.post(
            f"/api/v1/products/{product_id}/publish", headers=headers or self.staff
        )
        assert r.status_code == 200, r.text
        return r.json()

    async def buyer(self) -> dict[str, str]:
        buyer = await self.api.organization(kind="buyer")
        _, headers = await self.api.member(buyer["id"], role="staff")
        return headers

"""API shapes of the collection centre: receipts, shipments, vehicles, routes, lots."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from app.core.ids import Id
from app.core.quantity import PositiveQuantity, Quantity
from app.core.schemas import Strict

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LotCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$"),
]
# Local wall-clock time of the network, "HH:MM"; "24:00" is the end of the day.
ClockTime = Annotated[str, StringConstraints(pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$")]
# Degrees Celsius to one decimal, answered as a JSON number (a measurement, not money).
# As text, ASCII digits within the bounds, the spelling that the schema tells.
TEMPERATURE_PATTERN = (
    r"^(?:-(?:[0-4]?[0-9](?:\.[0-9])?|50(?:\.0)?)|[0-5]?[0-9](?:\.[0-9])?|60(?:\.0)?)$"
)
_TEMPERATURE_TEXT = re.compile(TEMPERATURE_PATTERN)


def _temperature_text(value: Any) -> Any:
    if isinstance(value, str) and not _TEMPERATURE_TEXT.fullmatch(value):
        raise PydanticCustomError(
            "temperature_format", 'must be degrees such as "4.5" or "-18", from -50 to 60'
        )
    return value


Temperature = Annotated[
    Decimal,
    Field(ge=-50, le=60, max_digits=4, decimal_places=1),
    BeforeValidator(_temperature_text),
    PlainSerializer(float, return_type=float, when_used="json"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "minimum": -50, "maximum": 60, "multipleOf": 0.1},
                {"type": "string", "pattern": TEMPERATURE_PATTERN, "maxLength": 5},
            ]
        },
        mode="validation",
    ),
]


def clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def minutes_of(value: str) -> int:
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


# --- receipts --------------------------------------------------------------------------------


class ReceiptLineIn(Strict):
    sku_id: Id
    accepted_quantity: Quantity
    rejected_quantity: Quantity = Decimal(0)
    reason: Reason | None = None
    lot_code: LotCode
    weight_kg: PositiveQuantity | None = Field(
        default=None, description="Real weight of the accepted goods; variable-weight goods"
    )
    temperature_c: Temperature | None = None


class ReceiptCreate(Strict):
    lines: list[ReceiptLineIn] = Field(min_length=1, max_length=100)


class ReceiptLinePublic(BaseModel):
    lot_code: str
    sku_id: str
    sku_name: str
    product_id: str
    product_name: str
    product_version: int
    accepted_quantity: Quantity
    rejected_quantity: Quantity
    reason: str | None
    weight_kg: Quantity | None
    temperature_c: Temperature | None
    temperature_alert: bool


class ReceiptPublic(BaseModel):
    id: str
    delivery_order_id: str
    cycle_id: str
    association_id: str
    association_name: str
    parish: str = Field(description="The association's parish")
    collection_centre_id: str
    collection_centre_name: str
    received_at: datetime
    received_by_user_id: str | None
    temperature_alert: bool
    lines: list[ReceiptLinePublic]


class DeliveryLineView(BaseModel):
    sku_id: str
    sku_name: str
    quantity: Quantity
    producer_price_cents: int
    product_id: str
    product_name: str
    product_version: int
    accepted_quantity: Quantity
    rejected_quantity: Quantity
    outstanding_quantity: Quantity = Field(description="Ordered minus accepted and rejected")
    supplied_quantity: Quantity | None = Field(
        description="What went to buyers (set when shipments are built); the association is "
        "paid for this"
    )


class DeliveryOrderView(BaseModel):
    id: str
    cycle_id: str
    association_id: str
    association_name: str
    parish: str = Field(description="The association's parish")
    collection_centre_id: str
    collection_centre_name: str
    status: str
    lines: list[DeliveryLineView]
    receipts: list[ReceiptPublic]


# --- shipments -------------------------------------------------------------------------------


class ShipmentLinePublic(BaseModel):
    sku_id: str
    sku_name: str
    quantity: Quantity
    lot_codes: list[str]
    weight_kg: Quantity
    billed_quantity: Quantity | None
    returned_quantity: Quantity
    delivered_quantity: Quantity | None


class ReturnPublic(BaseModel):
    sku_id: str
    sku_name: str
    quantity: Quantity
    reason: str | None


class ShipmentPublic(BaseModel):
    id: str
    cycle_id: str
    buyer_id: str
    buyer_name: str
    parish: str = Field(description="The buyer's parish")
    collection_centre_id: str
    collection_centre_name: str
    status: str
    weight_kg: Quantity
    chilled: bool
    lines: list[ShipmentLinePublic]
    built_at: datetime
    received_by: str | None
    delivered_at: datetime | None
    returns: list[ReturnPublic]
    failure_reason: str | None = None


class ReturnIn(Strict):
    sku_id: Id
    quantity: PositiveQuantity
    reason: Reason


class DeliveryIn(Strict):
    received_by: Text
    returns: list[ReturnIn] = Field(default_factory=list, max_length=100)


class ShipmentFailure(Strict):
    """Why a shipment never reached its buyer (nothing of it is billed)."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


# --- vehicles and delivery windows -----------------------------------------------------------


class VehicleCreate(Strict):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    capacity_kg: PositiveQuantity
    chilled: bool = False
    shift_start: ClockTime = "06:00"
    shift_end: ClockTime = "18:00"
    capacity_crates: int | None = Field(
        default=None,
        ge=1,
        le=10_000,
        description="Crates it carries (a second capacity beside kg); none: any number. "
        "An order line takes ceil(its kg / the network's crate size) crates",
    )
    fixed_cost_cents: int = Field(
        default=0,
        ge=0,
        le=100_000_000,
        description="What using it for the day costs: the planner uses fewer vehicles when "
        "the kilometres saved cost less than this",
    )
    cost_per_km_cents: int = Field(default=100, ge=0, le=100_000)
    max_route_minutes: int | None = Field(
        default=None,
        ge=1,
        le=24 * 60,
        description="The most its route may take driving and unloading (waiting for a window "
        "to open is not counted)",
    )
    break_start: ClockTime | None = Field(
        default=None, description="The driver's break starts between this and break_end"
    )
    break_end: ClockTime | None = None
    break_minutes: int | None = Field(default=None, ge=1, le=240)


class VehiclePublic(BaseModel):
    id: str
    collection_centre_id: str
    name: str
    capacity_kg: Quantity
    chilled: bool
    shift_start: str
    shift_end: str
    active: bool
    created_at: datetime
    capacity_crates: int | None = None
    fixed_cost_cents: int = 0
    cost_per_km_cents: int = 100
    max_route_minutes: int | None = None
    break_start: str | None = None
    break_end: str | None = None
    break_minutes: int = 0


class WindowIn(Strict):
    opens: ClockTime
    closes: ClockTime


class WindowPublic(BaseModel):
    opens: str
    closes: str


MAX_WINDOWS = 4


class DeliveryWindowIn(Strict):
    """One window (``opens``, ``closes``) or up to four (``windows``), not both."""

    opens: ClockTime | None = None
    closes: ClockTime | None = None
    windows: list[WindowIn] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_WINDOWS,
        description="Every window of the day, in order and apart (e.g. morning and afternoon)",
    )
    service_minutes: int = Field(default=10, ge=0, le=240)


class DeliveryWindowPublic(BaseModel):
    buyer_id: str
    opens: str = Field(description="The first window opens")
    closes: str = Field(description="The first window closes")
    service_minutes: int
    windows: list[WindowPublic] = Field(default_factory=list)


# --- routes ----------------------------------------------------------------------------------


class StopPublic(BaseModel):
    shipment_id: str
    buyer_id: str
    buyer_name: str
    parish: str = Field(description="The buyer's parish")
    address: str | None = Field(description="The buyer's street address, where it gave one")
    phone: str | None
    delivery_notes: str | None = Field(description="What the driver needs to know")
    sequence: int
    eta: datetime = Field(description="Start of service, local time of the network")
    load_kg: Quantity
    crates: int = 0
    latitude: float
    longitude: float


class RoutePublic(BaseModel):
    id: str = Field(description="the route sheet is at /routes/{id}.pdf")
    vehicle_id: str
    vehicle_name: str
    chilled: bool
    distance_km: float
    duration_minutes: int
    departure: datetime
    load_kg: Quantity
    crates: int = 0
    cost_cents: int = Field(default=0, description="The vehicle's fixed cost and kilometres")
    break_start: datetime | None = Field(
        default=None, description="The driver's break, when the vehicle has one"
    )
    break_minutes: int = 0
    stops: list[StopPublic]


class UnassignedPublic(BaseModel):
    shipment_id: str
    buyer_id: str | None = None
    buyer_name: str | None = None
    reason: str


class RoutePlanPublic(BaseModel):
    cycle_id: str
    planned_at: datetime
    matrix_source: str = Field(description="osrm (road distances) or estimate (coordinates)")
    routes: list[RoutePublic]
    unassigned: list[UnassignedPublic]
    distance_km: float = Field(
        description="Routes plus the associations' trips to the centre and back"
    )
    routed_km: float
    cost_cents: int = Field(default=0, description="What the routes cost, as the planner counts")
    legs_to_centre_km: float
    direct_delivery_km: float = Field(
        description="If each association drove to each of its buyers and back"
    )
    saved_km: float


# --- traceability ----------------------------------------------------------------------------


class LotBuyer(BaseModel):
    buyer_id: str
    buyer_name: str
    shipment_id: str
    quantity: Quantity


class LotTrace(BaseModel):
    lot_code: str
    association_id: str
    association_name: str
    parish: str
    canton: str | None
    province: str | None
    product_id: str
    product_version: int
    product_name: str
    sku_id: str
    sku_name: str
    received_at: datetime
    accepted_quantity: Quantity
    weight_kg: Quantity | None
    temperature_c: Temperature | None
    temperature_alert: bool
    receipt_id: str
    buyers: list[LotBuyer]


class RouteDeparture(BaseModel):
    route_id: str
    departed_at: datetime
    stops: int = Field(description="the buyers told their goods are on the way")

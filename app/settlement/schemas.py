"""API shapes of settlement."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from app.aggregation.schemas import PolicyOutcome
from app.core.ids import Id
from app.core.quantity import PositiveQuantity, Quantity
from app.core.schemas import Strict


class Breakdown(BaseModel):
    producer_cents: int
    logistics_cents: int
    network_cents: int
    solidarity_fund_cents: int


class InvoiceLinePublic(BaseModel):
    sku_id: str
    sku_name: str
    quantity: Quantity
    nominal_quantity: Quantity | None = None
    weighed: bool = False
    unit_price_cents: int
    amount_cents: int
    tax_rate_bps: int = 0
    tax_cents: int = 0
    price_breakdown: Breakdown
    credited_quantity: Quantity = Decimal(0)


class CreditNoteLineIn(Strict):
    sku_id: Id
    quantity: PositiveQuantity
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class CreditNoteCreate(Strict):
    lines: list[CreditNoteLineIn] = Field(min_length=1, max_length=100)


class CreditNoteLinePublic(BaseModel):
    sku_id: str
    sku_name: str
    quantity: Quantity
    unit_price_cents: int
    amount_cents: int
    tax_cents: int = 0
    price_breakdown: Breakdown
    reason: str


class CreditNotePublic(BaseModel):
    id: str
    number: str
    invoice_id: str
    invoice_number: str
    cycle_id: str
    buyer_id: str
    buyer_name: str
    order_id: str
    issued_at: datetime
    currency: str
    total_cents: int
    price_breakdown: Breakdown
    refund_status: str
    lines: list[CreditNoteLinePublic]


class InvoicePublic(BaseModel):
    id: str
    number: str
    network_id: str
    network_name: str
    cycle_id: str
    buyer_id: str
    buyer_name: str
    order_id: str
    issued_at: datetime
    due_on: date
    currency: str
    payment_method: str
    purchase_order_number: str | None
    total_cents: int = Field(description="the lines' amounts plus their taxes")
    subtotal_cents: int = Field(0, description="the lines' amounts, before tax")
    tax_cents: int = 0
    lines: list[InvoiceLinePublic]
    price_breakdown: Breakdown
    credited_cents: int = 0
    credit_notes: list[str] = Field(default_factory=list, description="their numbers")


class PayoutLinePublic(BaseModel):
    sku_id: str
    sku_name: str
    product_id: str
    product_name: str
    product_version: int
    quantity: Quantity
    nominal_quantity: Quantity | None = None
    producer_price_cents: int
    amount_cents: int
    price_breakdown: Breakdown


class AdjustmentPublic(BaseModel):
    id: str
    origin_cycle_id: str
    credit_note_id: str | None
    amount_cents: int
    reason: str


class PayoutPublic(BaseModel):
    id: str
    cycle_id: str
    association_id: str
    association_name: str
    parish: str = Field(description="The association's parish")
    currency: str
    amount_cents: int
    gross_cents: int = 0
    adjustments_cents: int = 0
    lines: list[PayoutLinePublic]
    adjustments: list[AdjustmentPublic] = Field(default_factory=list)


class LedgerDifference(BaseModel):
    check: str
    subject: str
    expected: str
    actual: str


class LedgerReport(BaseModel):
    cycle_id: str
    checked: list[str]
    differences: list[LedgerDifference]


class PaymentNeeded(BaseModel):
    """A card order whose card could not be charged: invoiced on terms instead."""

    order_id: str
    buyer_id: str
    buyer_name: str
    reason: str


class SettlementResult(BaseModel):
    cycle_id: str
    status: str
    invoices: int
    invoiced_cents: int
    payouts: int
    paid_out_cents: int
    captured_cents: int
    refunded_cents: int
    payment_needed: list[PaymentNeeded] = Field(default_factory=list)
    ledger: LedgerReport | None = None


class SkuVolume(BaseModel):
    sku_id: str
    sku_name: str
    name: str = Field(description="The SKU's name (as sku_name; kept for older clients)")
    quantity: Quantity
    revenue_cents: int


class Dashboard(BaseModel):
    network_id: str
    network_name: str
    currency: str
    cycles_settled: int
    revenue_cents: int
    producer_income_cents: int
    producer_share: float
    volume_by_sku: list[SkuVolume]
    direct_delivery_km: float
    routed_km: float
    income_gini: float
    income_gini_per_member: float = Field(
        description="Gini index of income across members (each holding her association's "
        "income per member; an association without members_total counts as the mean)"
    )
    allocation_floor_percent: int
    what_if: list[PolicyOutcome] = Field(
        description="What each allocation policy would have given the settled cycles"
    )
    associations_paid: int
    associations_total: int
    members_women_reached: int
    members_reached: int

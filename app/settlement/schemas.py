"""API shapes of settlement."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from app.core.quantity import Quantity


class Breakdown(BaseModel):
    producer_cents: int
    logistics_cents: int
    network_cents: int
    solidarity_fund_cents: int


class InvoiceLinePublic(BaseModel):
    sku_id: str
    quantity: Quantity
    unit_price_cents: int
    amount_cents: int
    price_breakdown: Breakdown


class InvoicePublic(BaseModel):
    id: str
    number: str
    network_id: str
    cycle_id: str
    buyer_id: str
    order_id: str
    issued_at: datetime
    due_on: date
    currency: str
    payment_method: str
    purchase_order_number: str | None
    total_cents: int
    lines: list[InvoiceLinePublic]
    price_breakdown: Breakdown


class PayoutLinePublic(BaseModel):
    sku_id: str
    product_id: str
    product_version: int
    quantity: Quantity
    producer_price_cents: int
    amount_cents: int
    price_breakdown: Breakdown


class PayoutPublic(BaseModel):
    id: str
    cycle_id: str
    association_id: str
    currency: str
    amount_cents: int
    lines: list[PayoutLinePublic]


class SettlementResult(BaseModel):
    cycle_id: str
    status: str
    invoices: int
    invoiced_cents: int
    payouts: int
    paid_out_cents: int
    captured_cents: int
    refunded_cents: int


class SkuVolume(BaseModel):
    sku_id: str
    name: str
    quantity: Quantity
    revenue_cents: int


class Dashboard(BaseModel):
    network_id: str
    currency: str
    cycles_settled: int
    revenue_cents: int
    producer_income_cents: int
    producer_share: float
    volume_by_sku: list[SkuVolume]
    direct_delivery_km: float
    routed_km: float
    income_gini: float
    associations_paid: int
    associations_total: int
    members_women_reached: int
    members_reached: int

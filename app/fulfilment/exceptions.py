"""Errors of the collection centre, each with one status and a stable code."""

from __future__ import annotations

from app.core.problems import Conflict, Forbidden, InvalidInput, NotFound
from app.fulfilment.distances import RoutingUnavailable

__all__ = [
    "AlreadyDelivered",
    "CentreStaffRequired",
    "CycleNotClosed",
    "DeliveryOrderNotFound",
    "InvalidDeliveryWindow",
    "InvalidReceipt",
    "InvalidReturns",
    "InvalidVehicle",
    "LotCodeTaken",
    "LotNotFound",
    "RejectionReasonRequired",
    "RouteNotFound",
    "RoutePlanNotFound",
    "RoutingUnavailable",
    "ShipmentNotFound",
    "ShipmentsDelivered",
    "ShipmentsNotBuilt",
    "WeightRequired",
]


class DeliveryOrderNotFound(NotFound):
    code = "delivery_order_not_found"
    title = "Delivery order not found"


class ShipmentNotFound(NotFound):
    code = "shipment_not_found"
    title = "Shipment not found"


class LotNotFound(NotFound):
    code = "lot_not_found"
    title = "Lot not found"


class RouteNotFound(NotFound):
    code = "route_not_found"
    title = "Route not found"


class RoutePlanNotFound(NotFound):
    code = "route_plan_not_found"
    title = "The cycle's routes have not been planned yet"


class CentreStaffRequired(Forbidden):
    code = "centre_staff_required"
    title = "Only the staff of the cycle's collection centre may do this"


class CycleNotClosed(Conflict):
    code = "cycle_not_closed"
    title = "The cycle is not closed (or already settled)"


class LotCodeTaken(Conflict):
    code = "lot_code_taken"
    title = "A lot with this code was already received"


class ShipmentsDelivered(Conflict):
    code = "shipments_delivered"
    title = "A shipment of the cycle was delivered; the shipments can no longer be rebuilt"


class ShipmentsNotBuilt(Conflict):
    code = "shipments_not_built"
    title = "Build the cycle's shipments before planning routes"


class ShipmentsChanged(Conflict):
    code = "shipments_changed"
    title = "The shipments changed while the routes were being planned: plan again"


class RouteInputsChanged(Conflict):
    code = "route_inputs_changed"
    title = "The vehicles or the delivery windows changed during the planning: plan again"


class InvalidTimeLimit(InvalidInput):
    code = "invalid_time_limit"
    title = "The time limit of the plan is not valid"


class AlreadyDelivered(Conflict):
    code = "shipment_already_delivered"
    title = "The shipment was already delivered"


class ShipmentFailed(Conflict):
    code = "shipment_failed"
    title = "The shipment was marked failed; nothing of it can be delivered"


class CycleSettled(Conflict):
    code = "cycle_settled"
    title = "The cycle is settled: goods can no longer be delivered or returned"


class InvalidReceipt(InvalidInput):
    code = "invalid_receipt"
    title = "The receipt is not valid"


class RejectionReasonRequired(InvalidReceipt):
    code = "rejection_reason_required"
    title = "Rejected goods need a reason"


class WeightRequired(InvalidReceipt):
    code = "weight_required"
    title = "Variable-weight goods need their real weight"


class InvalidReturns(InvalidInput):
    code = "invalid_returns"
    title = "The returns do not match the shipment"


class InvalidVehicle(InvalidInput):
    code = "invalid_vehicle"
    title = "The vehicle is not valid"


class InvalidDeliveryWindow(InvalidInput):
    code = "invalid_delivery_window"
    title = "The delivery window is not valid"

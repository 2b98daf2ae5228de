"""Collection centre: delivery orders, goods receipts, shipments, vehicles, routes."""

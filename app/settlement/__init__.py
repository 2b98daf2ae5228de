"""Buyer invoices, association payouts, the network dashboard."""

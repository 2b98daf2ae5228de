"""Organisations, users, memberships, API keys, authentication and the audit trail."""

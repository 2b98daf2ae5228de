"""Minga: backend of a solidarity marketplace with short supply chains."""

__version__ = "0.1.0"

"""The HTTP edge: router assembly, shared dependencies, error handlers."""

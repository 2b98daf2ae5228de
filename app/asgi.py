"""The ASGI entry point for uvicorn and other servers: ``app.asgi:app``."""

from app.main import create_app

app = create_app()

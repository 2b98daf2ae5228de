"""Every table of every domain, imported so that ``metadata`` is complete (Alembic, tests)."""

from app.accounts import models as accounts_models
from app.brands import models as brands_models
from app.catalog import models as catalog_models
from app.core.db import metadata

__all__ = ["accounts_models", "brands_models", "catalog_models", "metadata"]

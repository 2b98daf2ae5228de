"""Every table of every domain, imported so that ``metadata`` is complete (Alembic, tests)."""

from app.accounts import models as accounts_models
from app.aggregation import models as aggregation_models
from app.brands import models as brands_models
from app.catalog import models as catalog_models
from app.core import idempotency as idempotency_models
from app.core import stamps as stamps_models
from app.core.db import metadata
from app.events import models as events_models
from app.fulfilment import models as fulfilment_models
from app.jobs import models as jobs_models
from app.notifications import models as notifications_models
from app.orders import models as orders_models
from app.payments import models as payments_models
from app.settlement import models as settlement_models
from app.webhooks import models as webhooks_models

__all__ = [
    "accounts_models",
    "aggregation_models",
    "brands_models",
    "catalog_models",
    "events_models",
    "fulfilment_models",
    "idempotency_models",
    "jobs_models",
    "metadata",
    "notifications_models",
    "orders_models",
    "payments_models",
    "settlement_models",
    "stamps_models",
    "webhooks_models",
]

"""The floor: minimal FastAPI apps doing only the essential work of Minga's hot paths, served
the same way as Minga (uvicorn, same worker count, same PostgreSQL database), so that
``bench/orders.py`` and ``bench/catalog.py`` can report Minga's CPU per request as a ratio to
what the framework and the database need at the least.

Each floor lives in its own module and is mounted here:

- ``bench/floor_orders.py``: ``POST /api/v1/orders`` (JWT, gate query, reserve, insert, event);
- ``bench/floor_catalog.py``: ``GET /api/v1/skus`` (JWT + one Core query + cached bytes, and a
  page validated from rows through the response model).

Run::

    MINGA_DATABASE_URL=postgresql+asyncpg://... .venv/bin/uvicorn bench.floor:app --workers 1
"""

from __future__ import annotations

import contextlib
import importlib

from fastapi import FastAPI

app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

for _name in ("bench.floor_orders", "bench.floor_catalog"):
    with contextlib.suppress(ModuleNotFoundError):
        _module = importlib.import_module(_name)
        _module.mount(app)

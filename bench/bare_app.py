"""The baseline of ``bench/catalog.py``: a bare FastAPI app with one endpoint,
``GET /api/v1/skus``, that answers a constant page of SKUs captured from a real Minga server.

No database, no authentication, no middleware and no serialisation per request: the body is
the exact bytes Minga sent for the first page with the same ``limit`` (50 or 200, read from
``$MINGA_BENCH_BARE_PAGES/skus-limit-<limit>.json``), sent with the same ETag, Cache-Control
and Vary headers. Other query parameters (the cursor) are ignored. It is served the same way as
Minga, by uvicorn with the same host, port choice and worker count::

    MINGA_BENCH_BARE_PAGES=/tmp/pages .venv/bin/uvicorn bench.bare_app:app \
        --host 127.0.0.1 --port 8001 --workers 2 --proxy-headers --log-level warning
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Query, Response

PAGES = Path(os.environ.get("MINGA_BENCH_BARE_PAGES", "bench-pages"))


def _etag(body: bytes) -> str:
    # the same strong tag as app.core.etag: the answer's headers have the same size
    return '"' + base64.urlsafe_b64encode(hashlib.sha256(body).digest()).decode().rstrip("=") + '"'


def _load() -> dict[int, tuple[bytes, dict[str, str]]]:
    pages = {}
    for path in sorted(PAGES.glob("skus-limit-*.json")):
        match = re.fullmatch(r"skus-limit-(\d+)\.json", path.name)
        if match:
            body = path.read_bytes()
            headers = {
                "ETag": _etag(body),
                "Cache-Control": "private, no-cache",
                "Vary": "Authorization, X-API-Key",
            }
            pages[int(match.group(1))] = (body, headers)
    if not pages:
        raise RuntimeError(f"no skus-limit-<n>.json page in {PAGES.resolve()}")
    return pages


BODIES = _load()
DEFAULT = BODIES.get(50) or next(iter(BODIES.values()))

app = FastAPI(title="bare", openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/api/v1/skus")
async def skus(limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Response:
    body, headers = BODIES.get(limit, DEFAULT)
    return Response(body, media_type="application/json", headers=headers)

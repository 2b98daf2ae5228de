"""``GET /skus``, the catalogue buyers order from, and the network's public-catalogue switch.

Included first under ``/api/v1`` so that the hottest read is matched before the other
operations. A page without ``cycle_id`` is rendered once per worker and catalogue stamp:
a cached page costs the caller's principal (one prebuilt Core query outside any transaction,
none when anonymous) and no stamp query on PostgreSQL (``app/core/stamps.py``); orders do not
move the stamp. A page with ``cycle_id`` carries live availability and is built each time.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.accounts import exceptions as accounts_exc
from app.api.deps import (
    CurrentPrincipal,
    PrincipalOrAnonymous,
    SessionDep,
    require,
)
from app.api.ids import IdPath, IdQuery
from app.brands.schemas import SkuPublic
from app.core import stamps
from app.core.cache import RenderCache
from app.core.db import transaction
from app.core.etag import CACHE_CONTROL, NOT_MODIFIED_RESPONSE, body_with_etag, etag_of
from app.core.i18n import current_language
from app.core.pagination import Page, PageParamsDep
from app.core.problems import Unauthenticated, responses
from app.core.schemas import PlainText
from app.core.timeutil import utcnow
from app.orders import exceptions as orders_exc
from app.storefront import pages, service
from app.storefront.schemas import PublicCataloguePublic, PublicCatalogueSetting

router = APIRouter()
# Rendered catalogue pages of this worker, keyed by the catalogue's change stamp.
CATALOGUE_PAGES = RenderCache(max_entries=512)
AUTH = responses(Unauthenticated, accounts_exc.InsufficientRole, accounts_exc.OrganizationNotFound)
# an anonymous page is the same for everyone: shared caches (a reverse proxy, a CDN) may keep
# it a minute and must ask again with its ETag after that
PUBLIC_CACHE_CONTROL = "public, max-age=60"
# (the language middleware adds Accept-Language to every answer's Vary)
PUBLIC_VARY = "Authorization, X-API-Key"


def _answer(request: Request, body: bytes, etag: str, *, anonymous: bool) -> Response:
    if anonymous:
        return body_with_etag(
            request, body, etag, cache_control=PUBLIC_CACHE_CONTROL, vary=PUBLIC_VARY
        )
    return body_with_etag(request, body, etag, cache_control=CACHE_CONTROL)


@router.get(
    "/skus",
    response_model=Page[SkuPublic],
    tags=["brands"],
    responses=responses(orders_exc.CycleNotFound) | NOT_MODIFIED_RESPONSE | AUTH,
    summary="Brand SKUs for buyers: prices, breakdowns, suppliers; with cycle_id, availability",
    description="Without credentials, the published catalogue of the networks that made it "
    "public (`PUT /networks/{id}/public-catalogue`), with `Cache-Control: public`; with "
    "credentials, every brand's (and `cycle_id`, which needs them). Pages carry a strong "
    "`ETag` (send it in `If-None-Match` for a `304`).",
)
async def list_skus(
    request: Request,
    caller: PrincipalOrAnonymous,
    page: PageParamsDep,
    brand_id: IdQuery = None,
    category: Annotated[PlainText | None, Query(max_length=40)] = None,
    q: Annotated[PlainText | None, Query(max_length=200)] = None,
    cycle_id: IdQuery = None,
) -> Response:
    anonymous = caller is None
    if anonymous and cycle_id is not None:
        require(caller)  # a cycle's availability is for logged-in buyers, as cycles are
    today = utcnow().date()
    key: tuple[object, ...] | None = None
    if cycle_id is None:
        stamp = await stamps.current(request.app.state.engine, None, stamps.CATALOGUE)
        if stamp is not None:
            # the language too: a page may carry translated labels
            key = (stamp, today, current_language(), anonymous, brand_id, category, q)
            key += (page.cursor, page.limit)
            cached = CATALOGUE_PAGES.get(key)
            if cached is not None:
                return _answer(request, *cached, anonymous=anonymous)
    async with transaction(request.app.state.sessionmaker, write=False) as session:
        body = await pages.sku_page(
            session,
            today=today,
            public_only=anonymous,
            brand_id=brand_id,
            category=category,
            q=q,
            cycle_id=cycle_id,
            page=page,
        )
    etag = etag_of(body)
    if key is not None:
        CATALOGUE_PAGES.put(key, body, etag)
    return _answer(request, body, etag, anonymous=anonymous)


@router.get(
    "/networks/{network_id}/public-catalogue",
    response_model=PublicCataloguePublic,
    tags=["networks"],
    responses=responses(accounts_exc.NetworkNotFound) | AUTH,
    summary="Whether the network's published catalogue is shown to anonymous visitors",
)
async def get_public_catalogue(
    session: SessionDep, principal: CurrentPrincipal, network_id: IdPath
) -> PublicCataloguePublic:
    return await service.public_catalogue(session, principal, network_id)


@router.put(
    "/networks/{network_id}/public-catalogue",
    response_model=PublicCataloguePublic,
    tags=["networks"],
    responses=responses(accounts_exc.NetworkNotFound) | AUTH,
    summary="Show the network's published catalogue to anyone, or to logged-in callers only",
)
async def set_public_catalogue(
    session: SessionDep,
    principal: CurrentPrincipal,
    network_id: IdPath,
    body: PublicCatalogueSetting,
) -> PublicCataloguePublic:
    return await service.set_public_catalogue(session, principal, network_id, body)

"""HTTP endpoints of brands, licences, brand SKUs and their suppliers."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from app.accounts import exceptions as accounts_exc
from app.api.deps import CurrentPrincipal, SessionDep
from app.api.ids import IdPath, IdQuery
from app.brands import exceptions as exc
from app.brands import service, skus, taxes, views
from app.brands.models import LicenseStatus
from app.brands.schemas import (
    BrandCreate,
    BrandPublic,
    BrandUpdate,
    LicenseCreate,
    LicensePublic,
    LicenseSuspend,
    PriceBreakdown,
    SkuCreate,
    SkuPublic,
    SkuUpdate,
    SupplierCreate,
    SupplierPublic,
    TaxRateIn,
    TaxRatePublic,
)
from app.catalog.exceptions import InvalidGtin, ProductNotFound
from app.core.etag import NOT_MODIFIED_RESPONSE, json_with_etag
from app.core.pagination import Page, PageParamsDep
from app.core.problems import Unauthenticated, responses
from app.core.timeutil import utcnow

router = APIRouter(tags=["brands"])

AUTH = responses(Unauthenticated, accounts_exc.InsufficientRole)


@router.post(
    "/brands",
    response_model=BrandPublic,
    status_code=status.HTTP_201_CREATED,
    responses=responses(accounts_exc.NetworkNotFound, exc.BrandSlugTaken, exc.UnknownCategory)
    | AUTH,
)
async def create_brand(
    session: SessionDep, principal: CurrentPrincipal, body: BrandCreate
) -> BrandPublic:
    return service.brand_public(await service.create_brand(session, principal, body))


@router.get("/brands", response_model=Page[BrandPublic], responses=AUTH)
async def list_brands(
    session: SessionDep, _: CurrentPrincipal, page: PageParamsDep, network_id: IdQuery = None
) -> Page[BrandPublic]:
    rows, cursor = await service.list_brands(session, network_id=network_id, page=page)
    return Page(items=[service.brand_public(b) for b in rows], next_cursor=cursor)


@router.get(
    "/brands/{brand_id}", response_model=BrandPublic, responses=responses(exc.BrandNotFound) | AUTH
)
async def get_brand(session: SessionDep, _: CurrentPrincipal, brand_id: IdPath) -> BrandPublic:
    return service.brand_public(await service.get_brand(session, brand_id))


@router.patch(
    "/brands/{brand_id}",
    response_model=BrandPublic,
    responses=responses(exc.BrandNotFound, exc.UnknownCategory) | AUTH,
)
async def update_brand(
    session: SessionDep, principal: CurrentPrincipal, brand_id: IdPath, body: BrandUpdate
) -> BrandPublic:
    return service.brand_public(await service.update_brand(session, principal, brand_id, body))


LICENSE_ERRORS = responses(
    exc.BrandNotFound, exc.LicenseNotFound, exc.NotInNetwork, exc.LicenseExists
)


@router.post(
    "/brands/{brand_id}/licenses",
    response_model=LicensePublic,
    status_code=status.HTTP_201_CREATED,
    responses=LICENSE_ERRORS | AUTH,
)
async def grant_license(
    session: SessionDep, principal: CurrentPrincipal, brand_id: IdPath, body: LicenseCreate
) -> LicensePublic:
    return await service.grant_license(session, principal, brand_id, body.association_id)


@router.get(
    "/brands/{brand_id}/licenses",
    response_model=Page[LicensePublic],
    responses=LICENSE_ERRORS | AUTH,
)
async def list_licenses(
    session: SessionDep, principal: CurrentPrincipal, brand_id: IdPath, page: PageParamsDep
) -> Page[LicensePublic]:
    items, cursor = await service.list_licenses(session, principal, brand_id, page)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/brands/{brand_id}/licenses/{license_id}/suspend",
    response_model=LicensePublic,
    responses=LICENSE_ERRORS | AUTH,
)
async def suspend_license(
    session: SessionDep,
    principal: CurrentPrincipal,
    brand_id: IdPath,
    license_id: IdPath,
    body: LicenseSuspend,
) -> LicensePublic:
    return await service.set_license_status(
        session, principal, brand_id, license_id, LicenseStatus.suspended, body.reason
    )


@router.post(
    "/brands/{brand_id}/licenses/{license_id}/reinstate",
    response_model=LicensePublic,
    responses=LICENSE_ERRORS | AUTH,
)
async def reinstate_license(
    session: SessionDep, principal: CurrentPrincipal, brand_id: IdPath, license_id: IdPath
) -> LicensePublic:
    return await service.set_license_status(
        session, principal, brand_id, license_id, LicenseStatus.active
    )


SKU_ERRORS = responses(
    exc.BrandNotFound,
    exc.SkuNotFound,
    exc.UnknownCategory,
    exc.TierBelowProducerPrice,
    exc.InvalidTiers,
    exc.InvalidSku,
    InvalidGtin,
)


async def _one_sku(session: SessionDep, sku_id: str) -> SkuPublic:
    sku = await skus.get_sku(session, sku_id)
    return (await views.sku_publics(session, [sku], today=utcnow().date()))[0]


@router.post(
    "/brands/{brand_id}/skus",
    response_model=SkuPublic,
    status_code=status.HTTP_201_CREATED,
    responses=SKU_ERRORS | AUTH,
)
async def create_sku(
    session: SessionDep, principal: CurrentPrincipal, brand_id: IdPath, body: SkuCreate
) -> SkuPublic:
    sku = await skus.create_sku(session, principal, brand_id, body)
    return await _one_sku(session, sku.id)


@router.get(
    "/skus/{sku_id}",
    response_model=SkuPublic,
    responses=responses(exc.SkuNotFound) | NOT_MODIFIED_RESPONSE | AUTH,
)
async def get_sku(
    request: Request, session: SessionDep, _: CurrentPrincipal, sku_id: IdPath
) -> Response:
    return json_with_etag(request, await _one_sku(session, sku_id))


@router.patch("/skus/{sku_id}", response_model=SkuPublic, responses=SKU_ERRORS | AUTH)
async def update_sku(
    session: SessionDep, principal: CurrentPrincipal, sku_id: IdPath, body: SkuUpdate
) -> SkuPublic:
    sku = await skus.update_sku(session, principal, sku_id, body)
    return await _one_sku(session, sku.id)


@router.get(
    "/skus/{sku_id}/price-breakdowns",
    response_model=list[PriceBreakdown],
    responses=responses(exc.SkuNotFound) | AUTH,
    summary="The breakdown of the unit price at every tier: producer, logistics, network, fund",
)
async def price_breakdowns(
    session: SessionDep, _: CurrentPrincipal, sku_id: IdPath
) -> list[PriceBreakdown]:
    sku = await skus.get_sku(session, sku_id)
    tiers = (await skus.tiers_of(session, [sku.id]))[sku.id]
    return [views.price_breakdown(sku, tier) for tier in tiers]


SUPPLIER_ERRORS = responses(
    exc.SkuNotFound,
    ProductNotFound,
    exc.SupplierNotFound,
    exc.SupplierExists,
    exc.SupplierRulesFailed,
)


@router.post(
    "/skus/{sku_id}/suppliers",
    response_model=SupplierPublic,
    status_code=status.HTTP_201_CREATED,
    responses=SUPPLIER_ERRORS | AUTH,
)
async def approve_supplier(
    session: SessionDep, principal: CurrentPrincipal, sku_id: IdPath, body: SupplierCreate
) -> SupplierPublic:
    supplier = await skus.approve_supplier(
        session, principal, sku_id, body.product_id, today=utcnow().date()
    )
    sku = await skus.get_sku(session, sku_id)
    states = await views.supplier_states(
        session,
        [sku],
        {sku.brand_id: await service.get_brand(session, sku.brand_id)},
        today=utcnow().date(),
    )
    return next(views.supplier_public(s) for s in states[sku.id] if s.supplier.id == supplier.id)


@router.get(
    "/skus/{sku_id}/suppliers",
    response_model=list[SupplierPublic],
    responses=SUPPLIER_ERRORS | AUTH,
    summary="Every supplier link of the SKU, withdrawn and suspended ones too",
)
async def list_suppliers(
    session: SessionDep, principal: CurrentPrincipal, sku_id: IdPath
) -> list[SupplierPublic]:
    sku = await skus.get_sku(session, sku_id)
    brand = await service.get_brand(session, sku.brand_id)
    states = await views.supplier_states(
        session, [sku], {brand.id: brand}, today=utcnow().date(), approved_only=False
    )
    return views.supplier_publics(states[sku.id], principal, network_id=brand.network_id)


@router.delete(
    "/skus/{sku_id}/suppliers/{supplier_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=SUPPLIER_ERRORS | AUTH,
)
async def withdraw_supplier(
    session: SessionDep, principal: CurrentPrincipal, sku_id: IdPath, supplier_id: IdPath
) -> Response:
    await skus.withdraw_supplier(session, principal, sku_id, supplier_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/networks/{network_id}/tax-rates",
    response_model=list[TaxRatePublic],
    summary="The network's tax rates by category (a category not listed is taxed at 0 %)",
    responses=responses(accounts_exc.NetworkNotFound) | AUTH,
)
async def list_tax_rates(
    session: SessionDep, principal: CurrentPrincipal, network_id: IdPath
) -> list[TaxRatePublic]:
    return await taxes.list_rates(session, principal, network_id)


@router.put(
    "/networks/{network_id}/tax-rates",
    response_model=TaxRatePublic,
    summary="Set the tax rate of a category: invoices issued from now on charge it",
    responses=responses(accounts_exc.NetworkNotFound, exc.UnknownCategory) | AUTH,
)
async def set_tax_rate(
    session: SessionDep, principal: CurrentPrincipal, network_id: IdPath, body: TaxRateIn
) -> TaxRatePublic:
    return await taxes.set_rate(session, principal, network_id, body, now=utcnow())

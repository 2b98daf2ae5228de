"""HTTP endpoints of the catalogue: parse, authorise, call one service function."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Path, Query, Request, Response, UploadFile
from fastapi import status as http
from fastapi.responses import StreamingResponse

from app.accounts.exceptions import InsufficientRole, NotAnAssociation, OrganizationNotFound
from app.api.deps import CurrentPrincipal, ObjectStoreDep, SessionDep, SettingsDep
from app.api.ids import IdPath, IdQuery, RequiredIdQuery
from app.catalog import categories, images, importer, lifecycle, service, versions
from app.catalog import exceptions as exc
from app.catalog.models import CertificationKind, ProductStatus
from app.catalog.schemas import (
    CategoryPublic,
    ImagePublic,
    ImportResult,
    ProductCreate,
    ProductPublic,
    ProductUpdate,
    ProductVersionPublic,
    SheetView,
)
from app.core.csvexport import CsvDialect, DialectQuery, csv_response
from app.core.etag import CACHE_CONTROL, NOT_MODIFIED_RESPONSE, json_with_etag
from app.core.pagination import Page, PageParamsDep
from app.core.problems import InvalidInput, Unauthenticated, responses
from app.core.schemas import PlainText
from app.core.timeutil import utcnow
from app.flows import catalog as catalog_flows

router = APIRouter(tags=["catalogue"])

AUTH = responses(Unauthenticated, InvalidInput)
WRITE = responses(exc.ProductNotFound, exc.ProductArchived, InsufficientRole) | AUTH
SHEET = responses(exc.UnknownCategory, exc.InvalidGtin)

Upload = Annotated[UploadFile, File(description="The file, as multipart form field `file`")]
View = Annotated[
    SheetView,
    Query(
        description="For the sheet's association: `working` (its unpublished changes laid "
        "over the published sheet, described in `draft`) or `published` (what everyone else "
        "sees). Others always read the published sheet."
    ),
]


@router.get("/categories", response_model=list[CategoryPublic], responses=AUTH)
async def list_categories(session: SessionDep, _: CurrentPrincipal) -> list[CategoryPublic]:
    return [
        CategoryPublic(slug=c.slug, name=categories.label(c.slug, c.name), processed=c.processed)
        for c in await categories.list_categories(session)
    ]


@router.post(
    "/products",
    response_model=ProductPublic,
    status_code=http.HTTP_201_CREATED,
    summary="Write a new product sheet (a draft)",
    responses=responses(OrganizationNotFound, NotAnAssociation, InsufficientRole) | SHEET | AUTH,
)
async def create_product(
    session: SessionDep, principal: CurrentPrincipal, body: ProductCreate
) -> ProductPublic:
    return await lifecycle.create_product(session, principal, body)


@router.get(
    "/products",
    response_model=Page[ProductPublic],
    summary="Product sheets: published ones, and drafts of your own associations",
    description="Filters and `q` match the published sheets, as buyers see them.",
    responses=NOT_MODIFIED_RESPONSE | AUTH,
)
async def list_products(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    page: PageParamsDep,
    association_id: IdQuery = None,
    category: Annotated[PlainText | None, Query(max_length=40)] = None,
    certification: CertificationKind | None = None,
    q: Annotated[PlainText | None, Query(max_length=200, description="Words to find")] = None,
    status: ProductStatus | None = None,
    parish: Annotated[PlainText | None, Query(max_length=100)] = None,
    view: View = SheetView.working,
) -> Response:
    items, cursor = await service.list_products(
        session,
        principal,
        association_id=association_id,
        category=category,
        certification=certification,
        q=q,
        status=status,
        parish=parish,
        view=view,
        page=page,
    )
    return json_with_etag(request, Page(items=items, next_cursor=cursor))


@router.post(
    "/products/import",
    response_model=ImportResult,
    status_code=http.HTTP_201_CREATED,
    summary="Create many draft sheets from a CSV file: all rows or none",
    description="One row per sheet, with a header row naming the columns (in any order; "
    "optional ones may be left out). Commas or semicolons separate the cells (the separator "
    "is recognised); the text is UTF-8, with or without a BOM, or Windows-1252 (what Excel "
    'writes as "CSV (delimitado por comas)"). Every problem of every row is answered at '
    "once with its line number, and nothing is imported while one remains. A template with "
    "an example row: `GET /products/import-template.csv`.\n\n" + importer.columns_description(),
    responses=responses(
        OrganizationNotFound,
        NotAnAssociation,
        InsufficientRole,
        exc.ImportInvalid,
        exc.FileTooLarge,
    )
    | AUTH,
)
async def import_products(
    session: SessionDep,
    principal: CurrentPrincipal,
    association_id: RequiredIdQuery,
    file: Upload,
) -> ImportResult:
    content = await file.read(importer.MAX_BYTES + 1)
    return await importer.import_products(session, principal, association_id, content)


@router.get(
    "/products/import-template.csv",
    response_class=StreamingResponse,
    summary="The import's columns: a header row and an example row to fill in (CSV)",
    description="Fill it in a spreadsheet and send it to `POST /products/import`. "
    "`?dialect=excel-es` gives it as a Spanish Excel opens it (semicolons, decimal comma).",
    responses={200: {"content": {"text/csv": {}}, "description": "CSV"}}
    | responses(InsufficientRole)
    | AUTH,
)
async def import_template(
    session: SessionDep,
    principal: CurrentPrincipal,
    dialect: DialectQuery = CsvDialect.rfc4180,
) -> StreamingResponse:
    await service.require_association_staff(session, principal)
    return csv_response(
        "fichas-de-producto.csv", importer.COLUMNS, [importer.template_row()], dialect
    )


@router.get(
    "/products/{product_id:id}",
    response_model=ProductPublic,
    responses=responses(exc.ProductNotFound, exc.ProductNotPublished)
    | NOT_MODIFIED_RESPONSE
    | AUTH,
)
async def read_product(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    product_id: IdPath,
    view: View = SheetView.working,
) -> Response:
    sheet = await service.get_product(session, principal, product_id, view)
    return json_with_etag(request, sheet)


@router.patch(
    "/products/{product_id:id}",
    response_model=ProductPublic,
    summary="Change the working copy of a sheet (publish it again to make a new version)",
    description="A published sheet keeps showing its published version to everyone else: "
    "the change waits in its `draft` until the sheet is published again.",
    responses=WRITE | SHEET,
)
async def update_product(
    session: SessionDep, principal: CurrentPrincipal, product_id: IdPath, body: ProductUpdate
) -> ProductPublic:
    return await lifecycle.update_product(session, principal, product_id, body)


@router.post(
    "/products/{product_id}/publish",
    response_model=catalog_flows.PublishedSheet,
    summary="Publish the sheet; a changed published sheet becomes a new version",
    description="Every SKU the sheet supplies is checked again against its brand's rules: "
    "a link the sheet no longer passes is suspended, one that passes again is reinstated "
    "(see `supplier_checks`).",
    responses=WRITE,
)
async def publish_product(
    session: SessionDep, principal: CurrentPrincipal, product_id: IdPath
) -> catalog_flows.PublishedSheet:
    return await catalog_flows.publish_sheet(session, principal, product_id, today=utcnow().date())


@router.post(
    "/products/{product_id}/archive",
    response_model=ProductPublic,
    summary="Withdraw the sheet; its published versions stay readable",
    responses=WRITE,
)
async def archive_product(
    session: SessionDep, principal: CurrentPrincipal, product_id: IdPath
) -> ProductPublic:
    return await lifecycle.archive_product(session, principal, product_id)


@router.get(
    "/products/{product_id}/versions",
    response_model=Page[ProductVersionPublic],
    responses=responses(exc.ProductNotFound) | AUTH,
)
async def list_versions(
    session: SessionDep, principal: CurrentPrincipal, product_id: IdPath, page: PageParamsDep
) -> Page[ProductVersionPublic]:
    items, cursor = await versions.list_versions(session, principal, product_id, page)
    return Page(items=items, next_cursor=cursor)


@router.get(
    "/products/{product_id}/versions/{version}",
    response_model=ProductVersionPublic,
    responses=responses(exc.ProductNotFound, exc.ProductVersionNotFound) | AUTH,
)
async def read_version(
    session: SessionDep,
    principal: CurrentPrincipal,
    product_id: IdPath,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
) -> ProductVersionPublic:
    return await versions.get_version(session, principal, product_id, version)


@router.post(
    "/products/{product_id}/images",
    response_model=ImagePublic,
    status_code=http.HTTP_201_CREATED,
    summary="Add a photo (JPEG, PNG or WebP)",
    responses=responses(exc.FileTooLarge, exc.UnsupportedImage, exc.TooManyImages) | WRITE,
)
async def add_image(
    session: SessionDep,
    principal: CurrentPrincipal,
    settings: SettingsDep,
    store: ObjectStoreDep,
    product_id: IdPath,
    file: Upload,
) -> ImagePublic:
    data = await file.read(settings.max_upload_bytes + 1)
    return await images.add_image(
        session, principal, product_id, data, store=store, max_bytes=settings.max_upload_bytes
    )


@router.get(
    "/products/{product_id}/images/{image_id}",
    response_class=Response,
    summary="The photo's file",
    responses={
        200: {
            "content": {t: {} for t in images.PILLOW_FORMATS},
            "description": "The photo, as stored",
        }
    }
    | NOT_MODIFIED_RESPONSE
    | responses(exc.ProductNotFound, exc.ImageNotFound)
    | AUTH,
)
async def read_image(
    request: Request,
    session: SessionDep,
    principal: CurrentPrincipal,
    store: ObjectStoreDep,
    product_id: IdPath,
    image_id: IdPath,
) -> Response:
    image = await images.image_file(
        session,
        principal,
        product_id,
        image_id,
        store=store,
        if_none_match=request.headers.get("if-none-match"),
    )
    headers = {"ETag": image.etag, "Cache-Control": CACHE_CONTROL}
    if image.data is None:
        return Response(status_code=http.HTTP_304_NOT_MODIFIED, headers=headers)
    return Response(image.data, media_type=image.content_type, headers=headers)


@router.delete(
    "/products/{product_id}/images/{image_id}",
    status_code=http.HTTP_204_NO_CONTENT,
    responses=responses(exc.ImageNotFound) | WRITE,
)
async def remove_image(
    session: SessionDep,
    principal: CurrentPrincipal,
    store: ObjectStoreDep,
    product_id: IdPath,
    image_id: IdPath,
) -> Response:
    # the object goes once the session has committed (images.remove_image)
    await images.remove_image(session, principal, product_id, image_id, store=store)
    return Response(status_code=http.HTTP_204_NO_CONTENT)

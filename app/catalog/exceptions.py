"""Errors of the catalogue, each with one status and a stable code."""

from __future__ import annotations

from app.core.problems import Conflict, InvalidInput, NotFound, Problem


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "Product sheet not found"


class ProductVersionNotFound(NotFound):
    code = "product_version_not_found"
    title = "This version of the product sheet does not exist"


class ImageNotFound(NotFound):
    code = "image_not_found"
    title = "Image not found"


class UnknownCategory(InvalidInput):
    code = "unknown_category"
    title = "No such category"


class InvalidGtin(InvalidInput):
    code = "invalid_gtin"
    title = "The GTIN is not valid"


class ImportInvalid(InvalidInput):
    code = "import_invalid"
    title = "The import file has errors; nothing was imported"


class ProductArchived(Conflict):
    code = "product_archived"
    title = "The product sheet is archived"


class TooManyImages(Conflict):
    code = "too_many_images"
    title = "The product sheet has as many images as it may"


class FileTooLarge(Problem):
    status = 413
    code = "file_too_large"
    title = "The file is too large"


class UnsupportedImage(Problem):
    status = 415
    code = "unsupported_image"
    title = "Only JPEG, PNG and WebP images are accepted"


class ProductNotPublished(NotFound):
    code = "product_not_published"
    title = "The product sheet has never been published"

"""Errors of the brands domain, each with one status and a stable code."""

from __future__ import annotations

from app.core.problems import Conflict, InvalidInput, NotFound


class BrandNotFound(NotFound):
    code = "brand_not_found"
    title = "Brand not found"


class SkuNotFound(NotFound):
    code = "sku_not_found"
    title = "Brand SKU not found"


class LicenseNotFound(NotFound):
    code = "license_not_found"
    title = "Licence not found"


class SupplierNotFound(NotFound):
    code = "supplier_not_found"
    title = "Supplier not found"


class BrandSlugTaken(Conflict):
    code = "brand_slug_taken"
    title = "Another brand already uses this slug"


class LicenseExists(Conflict):
    code = "license_exists"
    title = "The association already holds a licence for this brand"


class SupplierExists(Conflict):
    code = "supplier_exists"
    title = "This sheet already supplies the SKU"


class UnknownCategory(InvalidInput):
    code = "unknown_category"
    title = "No such category"


class NotInNetwork(InvalidInput):
    code = "not_in_network"
    title = "The association does not belong to the brand's network"


class InvalidTiers(InvalidInput):
    code = "invalid_tiers"
    title = "The price tiers are not valid"


class TierBelowProducerPrice(InvalidInput):
    code = "tier_below_producer_price"
    title = "A tier is below the fair producer price"


class InvalidSku(InvalidInput):
    code = "invalid_sku"
    title = "The SKU's fields are not valid"


class SupplierRulesFailed(InvalidInput):
    code = "supplier_rules_failed"
    title = "The sheet does not meet the brand's rules"

from enum import StrEnum

from superpayment.errors import DomainError


class TenantErrorCode(StrEnum):
    SLUG_INVALID = "slug_invalid"
    SLUG_RESERVED = "slug_reserved"
    SLUG_TAKEN = "slug_taken"
    COUNTRY_INVALID = "country_invalid"
    CURRENCY_INVALID = "currency_invalid"
    NAME_INVALID = "name_invalid"
    MERCHANT_NOT_FOUND = "merchant_not_found"


class TenantError(DomainError):
    pass

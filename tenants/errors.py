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
    EMAIL_NOT_VERIFIED = "email_not_verified"
    ROLE_INVALID = "role_invalid"
    ALREADY_MEMBER = "already_member"
    INVITATION_INVALID = "invitation_invalid"
    INVITATION_WRONG_USER = "invitation_wrong_user"
    LAST_OWNER = "last_owner"
    REASON_REQUIRED = "reason_required"
    # Live-mode activation.
    OWNER_REQUIRED = "owner_required"
    BUSINESS_DETAILS_REQUIRED = "business_details_required"
    VAT_ID_INVALID = "vat_id_invalid"
    LIVE_WEBHOOK_ENDPOINT_REQUIRED = "live_webhook_endpoint_required"
    TERMS_NOT_ACCEPTED = "terms_not_accepted"
    MERCHANT_SUSPENDED = "merchant_suspended"
    PAY_BUTTONS_INVALID = "pay_buttons_invalid"
    TIME_ZONE_INVALID = "time_zone_invalid"
    LOCALE_INVALID = "locale_invalid"


class TenantError(DomainError):
    pass


class ApiKeyErrorCode(StrEnum):
    # Authentication (the API answers 401): an unknown key and a malformed one read the same.
    API_KEY_INVALID = "api_key_invalid"
    API_KEY_EXPIRED = "api_key_expired"
    API_KEY_REVOKED = "api_key_revoked"
    MERCHANT_SUSPENDED = "merchant_suspended"
    SECRET_KEY_REQUIRED = "secret_key_required"  # noqa: S105 - an error code
    PUBLISHABLE_KEY_REQUIRED = "publishable_key_required"
    AUTHORIZATION_HEADER_INVALID = "authorization_header_invalid"
    # A live key of a merchant that has not activated live mode (the API answers 403).
    LIVE_MODE_NOT_ACTIVATED = "live_mode_not_activated"
    # Managing keys.
    API_KEY_KIND_INVALID = "api_key_kind_invalid"
    API_KEY_MODE_INVALID = "api_key_mode_invalid"
    API_KEY_NAME_INVALID = "api_key_name_invalid"
    API_KEY_ALREADY_ROLLED = "api_key_already_rolled"
    ROLL_EXPIRY_INVALID = "roll_expiry_invalid"
    ALLOWED_ORIGIN_INVALID = "allowed_origin_invalid"


class ApiKeyError(DomainError):
    pass

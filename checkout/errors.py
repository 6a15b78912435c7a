"""Checkout error codes: sessions, the payment frame, payments."""

from __future__ import annotations

from enum import StrEnum

from superpayment.errors import DomainError


class CheckoutErrorCode(StrEnum):
    SESSION_NOT_FOUND = "checkout_session_not_found"
    SESSION_EXPIRED = "checkout_session_expired"
    SESSION_COMPLETED = "checkout_session_completed"
    PAYMENT_NOT_FOUND = "payment_not_found"
    ORDER_ALREADY_PAID = "order_already_paid"
    # The merchant does not accept this kind of pay button in this mode (portal setting).
    PAY_BUTTON_NOT_ACCEPTED = "pay_button_not_accepted"
    # The order was opened by a signed tag or the merchant's server: no unsigned tag may open it.
    ORDER_REQUIRES_SIGNED_CHECKOUT = "order_requires_signed_checkout"
    ORIGIN_NOT_ALLOWED = "origin_not_allowed"
    SIGNATURE_INVALID = "signature_invalid"
    SIGNATURE_EXPIRED = "signature_expired"
    AMOUNT_INVALID = "amount_invalid"
    CURRENCY_INVALID = "currency_invalid"
    ORDER_ID_INVALID = "order_id_invalid"
    EXPIRES_IN_INVALID = "expires_in_invalid"
    URL_INVALID = "url_invalid"
    CONFIRM_TOKEN_INVALID = "confirm_token_invalid"  # noqa: S105 - an error code
    REMEMBERED_VOUCHER_MISSING = "remembered_voucher_missing"
    REQUEST_INVALID = "request_invalid"
    PARAMETER_INVALID = "parameter_invalid"
    BODY_TOO_LARGE = "body_too_large"
    LIVE_MODE_NOT_ACTIVATED = "live_mode_not_activated"


class CheckoutError(DomainError):
    pass

"""Voucher error codes. Lookups by code answer one uniform error for every reason a code cannot
be used (unknown, disabled, expired, other currency or mode, a rule that fails), so guessing
learns nothing; only a minimum order's message says what the shopper can change."""

from __future__ import annotations

from enum import StrEnum

from superpayment.errors import DomainError


class VoucherErrorCode(StrEnum):
    VOUCHER_NOT_REDEEMABLE = "voucher_not_redeemable"
    VOUCHER_NOT_FOUND = "voucher_not_found"
    VOUCHER_CLOSED = "voucher_closed"
    VOUCHER_DUPLICATE = "voucher_duplicate"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    AMOUNT_INVALID = "amount_invalid"
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_INVALID = "currency_invalid"
    CODE_INVALID = "code_invalid"
    CODE_TAKEN = "code_taken"
    CODE_TOO_WEAK = "code_too_weak"
    RULES_INVALID = "rules_invalid"
    METADATA_INVALID = "metadata_invalid"
    VALIDITY_INVALID = "validity_invalid"
    REASON_REQUIRED = "reason_required"
    REFERENCE_INVALID = "reference_invalid"
    CREDIT_EXCEEDS_REDEEMED = "credit_exceeds_redeemed"
    COUNT_INVALID = "count_invalid"
    STATUS_INVALID = "status_invalid"
    JOB_NOT_FOUND = "voucher_job_not_found"
    IMPORT_INVALID = "import_invalid"


class VoucherError(DomainError):
    pass


# One message for every reason a code cannot be used, so the reason never leaks.
NOT_REDEEMABLE_MESSAGE = "This voucher code cannot be used for this payment."


def voucher_not_redeemable(param: str) -> VoucherError:
    return VoucherError(
        VoucherErrorCode.VOUCHER_NOT_REDEEMABLE, NOT_REDEEMABLE_MESSAGE, param=param
    )

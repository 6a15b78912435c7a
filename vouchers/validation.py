"""Input checks shared by the voucher services: amounts, currencies, short texts."""

from __future__ import annotations

from typing import Any

from superpayment.money import MoneyError, currency_validate
from vouchers.errors import VoucherError, VoucherErrorCode

MAX_AMOUNT = 10**13
TEXT_MAX_LENGTH = 64
REASON_MAX_LENGTH = 500


def amount_validate(amount: Any, *, param: str = "amount") -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise VoucherError(
            VoucherErrorCode.AMOUNT_INVALID,
            f"An amount is a whole number of minor units from 1 to {MAX_AMOUNT}.",
            param=param,
        )
    return amount


def voucher_currency_validate(currency: str) -> str:
    try:
        return currency_validate(currency)
    except MoneyError as exc:
        raise VoucherError(VoucherErrorCode.CURRENCY_INVALID, str(exc), param="currency") from exc


def text_validate(
    value: str, *, param: str, max_length: int, required_code: VoucherErrorCode | None = None
) -> str:
    clean = (value or "").strip()
    if (required_code and not clean) or len(clean) > max_length:
        raise VoucherError(
            required_code or VoucherErrorCode.REFERENCE_INVALID,
            f"{param} is {1 if required_code else 0} to {max_length} characters.",
            param=param,
        )
    return clean


def reference_validate(reference: str) -> str:
    """The payment a balance change belongs to: required, up to TEXT_MAX_LENGTH characters.
    Redemptions and refund credits check it alike, since a credit is matched to its redemptions
    by the reference."""
    return text_validate(
        reference,
        param="reference",
        max_length=TEXT_MAX_LENGTH,
        required_code=VoucherErrorCode.REFERENCE_INVALID,
    )

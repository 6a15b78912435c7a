"""Refund error codes."""

from __future__ import annotations

from enum import StrEnum

from superpayment.errors import DomainError


class RefundErrorCode(StrEnum):
    REFUND_NOT_FOUND = "refund_not_found"
    REFUND_AMOUNT_INVALID = "refund_amount_invalid"
    REFUND_EXCEEDS_REMAINING = "refund_exceeds_remaining"
    PAYMENT_ALREADY_REFUNDED = "payment_already_refunded"
    REFUND_VOUCHERS_CLOSED = "refund_vouchers_closed"
    REFUND_REASON_INVALID = "refund_reason_invalid"
    FILTER_INVALID = "filter_invalid"


class RefundError(DomainError):
    pass

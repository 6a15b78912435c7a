"""Error codes of commission billing."""

from __future__ import annotations

from enum import StrEnum

from superpayment.errors import DomainError


class BillingErrorCode(StrEnum):
    AMOUNT_INVALID = "commission_amount_invalid"
    CURRENCY_MISMATCH = "commission_currency_mismatch"
    COMMISSION_NOT_FOUND = "commission_not_found"
    PERIOD_INVALID = "billing_period_invalid"
    INVOICE_NOT_FOUND = "invoice_not_found"
    INVOICE_IMMUTABLE = "invoice_immutable"
    INVOICE_TRANSITION_INVALID = "invoice_transition_invalid"
    REASON_REQUIRED = "billing_reason_required"
    STRIPE_FAILED = "stripe_failed"
    ISSUER_INCOMPLETE = "billing_issuer_incomplete"


class BillingError(DomainError):
    pass

from billing.models.invoices import (
    Invoice,
    InvoiceLine,
    InvoiceNumberSequence,
    StripeCustomer,
    StripeEvent,
)
from billing.models.ledger import CommissionEntry, CommissionPlan
from billing.models.liability import VoucherLiabilitySnapshot

__all__ = [
    "CommissionEntry",
    "CommissionPlan",
    "Invoice",
    "InvoiceLine",
    "InvoiceNumberSequence",
    "StripeCustomer",
    "StripeEvent",
    "VoucherLiabilitySnapshot",
]

from billing.models.invoices import (
    BillingProfile,
    Invoice,
    InvoiceLine,
    InvoiceNumberSequence,
    StripeCustomer,
    StripeEvent,
)
from billing.models.ledger import CommissionEntry, CommissionPlan
from billing.models.liability import VoucherLiabilitySnapshot

__all__ = [
    "BillingProfile",
    "CommissionEntry",
    "CommissionPlan",
    "Invoice",
    "InvoiceLine",
    "InvoiceNumberSequence",
    "StripeCustomer",
    "StripeEvent",
    "VoucherLiabilitySnapshot",
]

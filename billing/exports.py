"""CSV downloads: an invoice's payments, invoice lists, voucher liability."""

from __future__ import annotations

from collections.abc import Iterable

from django.http import StreamingHttpResponse

from billing.models import CommissionEntry, Invoice, VoucherLiabilitySnapshot
from billing.selectors import invoice_entries
from superpayment.csv_stream import csv_response


def invoice_payments_csv(*, invoice: Invoice) -> StreamingHttpResponse:
    """One row per ledger entry: amounts in minor units, as stored."""
    entries = invoice_entries(invoice=invoice).iterator(chunk_size=2000)

    def rows():
        for e in entries:
            e: CommissionEntry
            yield [
                e.occurred_at.isoformat(),
                e.kind,
                e.payment_id,
                e.refund_id or "",
                e.currency,
                e.base_amount,
                e.amount,
                e.plan_name,
                e.bps,
                e.fixed_fee,
            ]

    header = [
        "occurred_at",
        "kind",
        "payment_id",
        "refund_id",
        "currency",
        "base_amount_minor",
        "commission_minor",
        "plan",
        "bps",
        "fixed_fee_minor",
    ]
    return csv_response(f"{invoice.display_number}-payments.csv", header, rows())


def invoices_csv(*, invoices: Iterable[Invoice]) -> StreamingHttpResponse:
    header = [
        "number",
        "merchant",
        "period_start",
        "currency",
        "status",
        "subtotal_minor",
        "credits_minor",
        "total_minor",
        "tax_treatment",
        "tax_rate_bps",
        "tax_minor",
        "amount_due_minor",
        "billed_vat_id",
        "entries",
        "stripe_invoice_id",
    ]
    rows = (
        [
            i.number or "",
            i.merchant.slug,
            i.period_start.isoformat(),
            i.currency,
            i.status,
            i.subtotal,
            i.credits,
            i.total,
            i.tax_treatment,
            i.tax_rate_bps,
            i.tax_amount,
            i.amount_due,
            i.billed_vat_id,
            i.entry_count,
            i.stripe_invoice_id,
        ]
        for i in invoices
    )
    return csv_response("invoices.csv", header, rows)


def liability_csv(*, snapshots: Iterable[VoucherLiabilitySnapshot]) -> StreamingHttpResponse:
    header = [
        "merchant",
        "currency",
        "as_of",
        "vouchers",
        "outstanding_minor",
        "expiring_30d_minor",
        "expiring_90d_minor",
        "age_0_30_minor",
        "age_31_90_minor",
        "age_91_180_minor",
        "age_181_365_minor",
        "age_over_365_minor",
    ]
    rows = (
        [
            s.merchant.slug,
            s.currency,
            s.as_of.isoformat(),
            s.voucher_count,
            s.outstanding,
            s.expiring_30d,
            s.expiring_90d,
            s.age_0_30,
            s.age_31_90,
            s.age_91_180,
            s.age_181_365,
            s.age_over_365,
        ]
        for s in snapshots
    )
    return csv_response("voucher-liability.csv", header, rows)

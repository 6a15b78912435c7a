"""Helpers for billing tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from billing.models import Invoice
from billing.services import commission_record_payment, commission_record_refund

MARCH = date(2026, 3, 1)


def at(day: int, month: int = 3, year: int = 2026, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def pay(merchant, payment_id, amount, *, currency="EUR", livemode=True, when=None):
    return commission_record_payment(
        merchant=merchant,
        payment_id=payment_id,
        amount=amount,
        currency=currency,
        livemode=livemode,
        occurred_at=when or at(10),
    )


def refund(merchant, payment_id, refund_id, amount, *, currency="EUR", when=None):
    return commission_record_refund(
        merchant=merchant,
        payment_id=payment_id,
        refund_id=refund_id,
        refunded_amount=amount,
        currency=currency,
        livemode=True,
        occurred_at=when or at(20),
    )


def open_invoice(merchant, *, number="SP-2026-900001", total=1234, currency="EUR") -> Invoice:
    """A finalized invoice written directly (for page tests that need one)."""
    return Invoice.objects.create(
        merchant=merchant,
        currency=currency,
        period_start=date(2025, 1, 1),
        period_end=date(2025, 2, 1),
        status=Invoice.Status.OPEN,
        number=number,
        number_year=2026,
        number_seq=int(number[-6:]),
        subtotal=total,
        credits=0,
        total=total,
        amount_due=total,
        entry_count=1,
        finalized_at=datetime(2025, 2, 1, 1, tzinfo=UTC),
    )

"""Invoice runs: totals equal the ledger, re-runs are idempotent, finalized invoices immutable."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import DatabaseError, connection, transaction
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.errors import BillingError, BillingErrorCode
from billing.invoicing import invoice_run
from billing.models import CommissionEntry, Invoice, InvoiceLine
from tenants.models import AuditLog
from tests.billing.support import MARCH, at, pay, refund

pytestmark = pytest.mark.django_db


def invoices_of(*merchants):
    return Invoice.objects.filter(merchant__in=merchants).order_by("merchant_id", "currency")


def test_run_bills_live_entries_per_merchant_and_currency(merchant_a, merchant_b):
    pay(merchant_a, "p1", 10_000, when=at(2))  # 150 + 20 = 170
    pay(merchant_a, "p2", 20_000, when=at(2))  # 300 + 20 = 320
    refund(merchant_a, "p2", "r1", 10_000, when=at(5))  # -160
    pay(merchant_a, "p3", 5_000, currency="USD", when=at(3))  # 75 + 20 = 95
    pay(merchant_a, "p4", 10_000, livemode=False, when=at(3))  # test mode: never invoiced
    pay(merchant_a, "p5", 10_000, when=at(1, month=4))  # April: not in March's run
    result = invoice_run(period_start=MARCH)
    assert result.finalized == 2
    eur, usd = invoices_of(merchant_a, merchant_b)
    assert (eur.currency, eur.subtotal, eur.credits, eur.total, eur.entry_count) == (
        "EUR",
        490,
        -160,
        330,
        3,
    )
    assert (usd.currency, usd.total) == ("USD", 95)
    assert eur.status == usd.status == "open"
    assert eur.number.startswith("SP-") and len(eur.number) == len("SP-2026-000001")
    assert eur.stripe_state == "not_sent"
    lines = list(eur.lines.values_list("day", "kind", "quantity", "amount"))
    assert lines == [
        (date(2026, 3, 2), "charge", 2, 490),
        (date(2026, 3, 5), "reversal", 1, -160),
    ]
    assert not Invoice.objects.filter(merchant=merchant_b).exists()  # nothing to bill
    assert CommissionEntry.objects.get(payment_id="p4").invoice_id is None
    assert CommissionEntry.objects.get(payment_id="p5").invoice_id is None
    assert AuditLog.objects.filter(action="invoice.finalized", target_id=str(eur.pk)).count() == 1


def test_numbers_are_gap_free_and_sequential(merchant_a, merchant_b):
    pay(merchant_a, "n1", 1000)
    pay(merchant_b, "n2", 1000)
    pay(merchant_b, "n3", 1000, currency="GBP")
    invoice_run(period_start=MARCH)
    seqs = sorted(invoices_of(merchant_a, merchant_b).values_list("number_seq", flat=True))
    assert seqs == list(range(seqs[0], seqs[0] + 3))
    assert {
        n[-6:] for n in invoices_of(merchant_a, merchant_b).values_list("number", flat=True)
    } == {f"{s:06d}" for s in seqs}


def test_rerun_changes_nothing_final_and_fills_what_is_missing(merchant_a, merchant_b):
    pay(merchant_a, "i1", 10_000)
    invoice_run(period_start=MARCH)
    before = list(invoices_of(merchant_a).values())
    again = invoice_run(period_start=MARCH)
    assert (again.drafts_created, again.entries_attached, again.finalized) == (0, 0, 0)
    assert list(invoices_of(merchant_a).values()) == before
    # A merchant that was missing gets its invoice; the first stays as it was.
    pay(merchant_b, "i2", 10_000)
    filled = invoice_run(period_start=MARCH)
    assert filled.finalized == 1
    assert list(invoices_of(merchant_a).values()) == before
    assert Invoice.objects.get(merchant=merchant_b).total == 170


def test_late_entry_for_a_finalized_period_goes_on_the_next_invoice(merchant_a):
    pay(merchant_a, "l1", 10_000)
    invoice_run(period_start=MARCH)
    pay(merchant_a, "l2", 10_000, when=at(31))  # recorded after March was finalized
    invoice_run(period_start=MARCH)
    march = Invoice.objects.get(merchant=merchant_a, period_start=MARCH)
    assert march.total == 170
    invoice_run(period_start=date(2026, 4, 1))
    april = Invoice.objects.get(merchant=merchant_a, period_start=date(2026, 4, 1))
    assert april.total == 170
    assert CommissionEntry.objects.get(payment_id="l2").invoice_id == april.pk


def test_finalized_invoices_are_immutable(merchant_a):
    pay(merchant_a, "m1", 10_000)
    invoice_run(period_start=MARCH)
    invoice = Invoice.objects.get(merchant=merchant_a)
    for change in (
        lambda: Invoice.objects.filter(pk=invoice.pk).update(total=1, subtotal=1),
        lambda: Invoice.objects.filter(pk=invoice.pk).update(status="draft", number=None),
        lambda: Invoice.objects.filter(pk=invoice.pk).delete(),
        lambda: InvoiceLine.objects.filter(invoice=invoice).update(amount=0),
        lambda: InvoiceLine.objects.create(
            invoice=invoice,
            day=date(2026, 3, 9),
            kind="charge",
            quantity=1,
            base_amount=1,
            amount=1,
        ),
        lambda: CommissionEntry.objects.filter(invoice=invoice).update(invoice=None),
        lambda: CommissionEntry.objects.filter(invoice=invoice).update(amount=1),
    ):
        with pytest.raises(DatabaseError), transaction.atomic():
            change()
    invoice.refresh_from_db()
    assert (invoice.total, invoice.status, invoice.lines.count()) == (170, "open", 1)


def test_only_past_periods_can_be_run():
    with pytest.raises(BillingError) as exc:
        invoice_run(period_start=date(2999, 1, 1))
    assert exc.value.code == BillingErrorCode.PERIOD_INVALID
    with pytest.raises(BillingError):
        invoice_run(period_start=date(2026, 3, 2))


payment = st.tuples(
    st.sampled_from(["a", "b"]),
    st.sampled_from(["EUR", "JPY"]),
    st.integers(min_value=1, max_value=2_000_000),
    st.integers(min_value=1, max_value=31),
    st.booleans(),  # livemode
    st.lists(st.integers(min_value=1, max_value=100), max_size=4),  # refund shares in %
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(payments=st.lists(payment, min_size=1, max_size=12))
def test_invoice_equals_commission_minus_reversals_for_every_merchant(
    merchant_a, merchant_b, payments
):
    merchants = {"a": merchant_a, "b": merchant_b}
    with transaction.atomic():
        for n, (who, currency, amount, day, livemode, shares) in enumerate(payments):
            merchant = merchants[who]
            pay(merchant, f"h{n}", amount, currency=currency, livemode=livemode, when=at(day))
            left = amount
            for k, share in enumerate(shares):
                part = min(left, max(1, amount * share // 100))
                if part <= 0:
                    break
                entry = refund(
                    merchant, f"h{n}", f"h{n}r{k}", part, currency=currency, when=at(day)
                )
                left -= part
                assert entry.amount <= 0
        invoice_run(period_start=MARCH)
        first = list(invoices_of(merchant_a, merchant_b).values())
        for merchant in merchants.values():
            for currency in ("EUR", "JPY"):
                live = CommissionEntry.objects.filter(
                    merchant=merchant, currency=currency, livemode=True
                )
                expected = live.aggregate(s=Sum("amount"))["s"]
                invoice = Invoice.objects.filter(merchant=merchant, currency=currency).first()
                if expected is None:
                    assert invoice is None
                    continue
                charges = live.filter(kind="charge").aggregate(s=Sum("amount"))["s"]
                credits = live.filter(kind="reversal").aggregate(s=Sum("amount"))["s"] or 0
                assert (invoice.subtotal, invoice.credits, invoice.total) == (
                    charges,
                    credits,
                    expected,
                )
                assert invoice.lines.aggregate(s=Sum("amount"))["s"] == expected
                # Reversals never exceed their payment's commission.
                for charge in live.filter(kind="charge"):
                    reversed_ = live.filter(kind="reversal", payment_id=charge.payment_id)
                    assert -(reversed_.aggregate(s=Sum("amount"))["s"] or 0) <= charge.amount
        invoice_run(period_start=MARCH)
        assert list(invoices_of(merchant_a, merchant_b).values()) == first
        transaction.set_rollback(True)
    connection.set_schema_to_public()

"""The commission ledger: plans, rounding, refund credits, idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from billing.errors import BillingError, BillingErrorCode
from billing.models import CommissionEntry, CommissionPlan
from billing.plans import commission_compute, div_half_up, reversal_cumulative
from billing.services import commission_record_payment, commission_record_refund

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def pay(merchant, payment_id, amount, currency="EUR", livemode=True, at=AT):
    return commission_record_payment(
        merchant=merchant,
        payment_id=payment_id,
        amount=amount,
        currency=currency,
        livemode=livemode,
        occurred_at=at,
    )


def refund(merchant, payment_id, refund_id, amount, currency="EUR", at=AT):
    return commission_record_refund(
        merchant=merchant,
        payment_id=payment_id,
        refund_id=refund_id,
        refunded_amount=amount,
        currency=currency,
        livemode=True,
        occurred_at=at,
    )


def test_half_up_rounding():
    assert div_half_up(5, 10) == 1
    assert div_half_up(4, 10) == 0
    assert div_half_up(15, 10) == 2
    assert div_half_up(25, 10) == 3  # half-up, not banker's rounding
    assert commission_compute(amount=9900, bps=150, fixed_fee=20) == 149 + 20  # 148.5 -> 149
    assert commission_compute(amount=10, bps=150, fixed_fee=20) == 10  # capped at the sale


def test_payment_uses_default_plan_and_snapshots_it(merchant_a):
    entry = pay(merchant_a, "pay_default", 9900)
    assert (entry.kind, entry.amount, entry.base_amount) == ("charge", 169, 9900)
    assert (entry.plan_name, entry.bps, entry.fixed_fee) == ("Standard", 150, 20)
    assert entry.plan.currency == "EUR"


def test_currency_without_plan_gets_default_bps_without_fee(merchant_a):
    entry = pay(merchant_a, "pay_mxn", 10_000, currency="MXN")
    assert (entry.amount, entry.bps, entry.fixed_fee) == (150, 150, 0)


def test_merchant_override_in_force_by_date(merchant_a):
    CommissionPlan.objects.create(
        name="Negotiated",
        merchant=merchant_a,
        currency="EUR",
        bps=90,
        fixed_fee=10,
        effective_from=AT,
        effective_to=AT + timedelta(days=30),
    )
    before = pay(merchant_a, "pay_before", 10_000, at=AT - timedelta(seconds=1))
    during = pay(merchant_a, "pay_during", 10_000, at=AT)
    after = pay(merchant_a, "pay_after", 10_000, at=AT + timedelta(days=30))
    assert (before.plan_name, before.amount) == ("Standard", 170)
    assert (during.plan_name, during.amount) == ("Negotiated", 100)
    assert (after.plan_name, after.amount) == ("Standard", 170)


def test_recording_a_payment_twice_returns_the_first_entry(merchant_a):
    first = pay(merchant_a, "pay_twice", 5000)
    second = pay(merchant_a, "pay_twice", 7000)
    assert second.pk == first.pk
    assert second.amount == 95
    assert CommissionEntry.objects.filter(payment_id="pay_twice").count() == 1


def test_partial_refunds_never_reverse_more_than_the_commission(merchant_a):
    charge = pay(merchant_a, "pay_split", 999)  # 14.985 -> 15 + 20 = 35
    assert charge.amount == 35
    credits = [refund(merchant_a, "pay_split", f"re_{i}", 333).amount for i in range(3)]
    # cumulative: round(35*333/999)=12, round(35*666/999)=23, 35
    assert credits == [-12, -11, -12]
    assert sum(credits) == -charge.amount


def test_refund_is_idempotent_per_refund_id(merchant_a):
    pay(merchant_a, "pay_r", 10_000)
    first = refund(merchant_a, "pay_r", "re_once", 5000)
    again = refund(merchant_a, "pay_r", "re_once", 5000)
    assert again.pk == first.pk
    assert first.amount == -85
    assert CommissionEntry.objects.filter(refund_id="re_once").count() == 1


def test_refund_of_unknown_payment_or_other_currency_is_refused(merchant_a):
    with pytest.raises(BillingError) as unknown:
        refund(merchant_a, "pay_missing", "re_x", 100)
    assert unknown.value.code == BillingErrorCode.COMMISSION_NOT_FOUND
    pay(merchant_a, "pay_usd", 1000, currency="USD")
    with pytest.raises(BillingError) as mismatch:
        refund(merchant_a, "pay_usd", "re_y", 100, currency="EUR")
    assert mismatch.value.code == BillingErrorCode.CURRENCY_MISMATCH


def test_test_mode_payment_credit_stays_test_mode(merchant_a):
    pay(merchant_a, "pay_test", 1000, livemode=False)
    credit = refund(merchant_a, "pay_test", "re_test", 1000)
    assert credit.livemode is False


def test_reversal_cumulative_caps_at_payment_amount():
    assert reversal_cumulative(commission=35, payment_amount=999, refunded_total=5000) == 35

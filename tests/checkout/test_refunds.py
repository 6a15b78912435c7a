"""Refunding payments: partial after partial up to the amount paid, over-refunds refused, and the
vouchers' ledgers, their balances, the commission reversal and the event all agreeing."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Sum
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.models import CommissionEntry
from checkout.models import Payment
from checkout.refund_errors import RefundError, RefundErrorCode
from checkout.refund_models import Refund
from checkout.refunds import payment_refund, refund_allocate
from tenants.models import AuditLog
from tests.checkout.factories_payments import payment_make
from vouchers.models import Voucher, VoucherLedgerEntry
from vouchers.services import voucher_issue, voucher_update
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def half_up(numerator: int, denominator: int) -> int:
    return (2 * numerator + denominator) // (2 * denominator)


def refund(merchant, payment, amount, **kwargs):
    with schema_context(merchant.schema_name):
        return payment_refund(payment=payment, amount=amount, **kwargs)


def voucher_state(merchant, voucher) -> tuple[int, int, str]:
    """(balance, sum of its ledger, status)."""
    with schema_context(merchant.schema_name):
        fresh = Voucher.objects.get(pk=voucher.pk)
        total = fresh.ledger_entries.aggregate(total=Sum("amount"))["total"]
        return fresh.balance, total, fresh.status


@pytest.fixture
def split_payment(merchant_a):
    """A payment of €100.00 with two vouchers: €60.00 (expires sooner, debited first) and
    €40.00, both emptied."""
    now = timezone.now()
    with schema_context(merchant_a.schema_name):
        first = voucher_issue(
            currency="EUR", amount=6_000, expires_at=now + datetime.timedelta(days=10)
        )
        second = voucher_issue(
            currency="EUR", amount=4_000, expires_at=now + datetime.timedelta(days=20)
        )
    from checkout.models import CheckoutSession
    from checkout.payments import checkout_session_confirm, checkout_voucher_add
    from checkout.sessions import checkout_session_create

    with schema_context(merchant_a.schema_name):
        session = checkout_session_create(
            livemode=False,
            amount=10_000,
            currency="EUR",
            order_id="ORDER-REFUND-1",
            source=CheckoutSession.Source.SERVER,
        )
        for voucher in (second, first):
            checkout_voucher_add(
                session_id=session.public_id, code=voucher.code, client_ip="127.0.0.1"
            )
        payment = checkout_session_confirm(
            merchant=merchant_a, session_id=session.public_id, confirm_token=session.confirm_token
        )
    assert [(t["voucher"], t["amount"]) for t in payment.tenders] == [
        (first.public_id, 6_000),
        (second.public_id, 4_000),
    ]
    return payment, first, second


def test_partial_then_partial_then_over_refund_is_refused(merchant_a, split_payment):
    payment, first, second = split_payment

    one = refund(merchant_a, payment, 3_000, reason="Damaged item")
    # The last voucher debited gets it back first.
    assert one.credits == [
        {"voucher": second.public_id, "code_last4": second.code_last4, "amount": 3_000}
    ]
    assert voucher_state(merchant_a, second) == (3_000, 3_000, "active")
    assert voucher_state(merchant_a, first) == (0, 0, "exhausted")

    two = refund(merchant_a, payment, 5_000)
    assert two.credits == [
        {"voucher": second.public_id, "code_last4": second.code_last4, "amount": 1_000},
        {"voucher": first.public_id, "code_last4": first.code_last4, "amount": 4_000},
    ]
    assert voucher_state(merchant_a, second) == (4_000, 4_000, "active")
    assert voucher_state(merchant_a, first) == (4_000, 4_000, "active")

    with pytest.raises(RefundError) as refused:
        refund(merchant_a, payment, 2_001)
    assert refused.value.code == RefundErrorCode.REFUND_EXCEEDS_REMAINING
    assert refused.value.message == (
        "Only €20.00 of this payment can still be refunded (€80.00 already was)."
    )
    # Nothing of the refused refund happened.
    assert voucher_state(merchant_a, first) == (4_000, 4_000, "active")
    with schema_context(merchant_a.schema_name):
        assert Refund.objects.filter(payment=payment).count() == 2
        assert Payment.objects.get(pk=payment.pk).version == 3

    rest = refund(merchant_a, payment, None)  # no amount: all that is left
    assert rest.amount == 2_000
    assert voucher_state(merchant_a, first) == (6_000, 6_000, "active")
    with pytest.raises(RefundError) as again:
        refund(merchant_a, payment, 1)
    assert again.value.code == RefundErrorCode.PAYMENT_ALREADY_REFUNDED


def test_ledger_balances_and_commission_reversal_all_match(merchant_a, split_payment):
    payment, first, second = split_payment
    charge = CommissionEntry.objects.get(payment_id=payment.public_id, kind="charge")
    assert charge.amount == payment.commission_amount

    refunds = [refund(merchant_a, payment, amount) for amount in (3_000, 3_333, 3_667)]

    reversals = list(
        CommissionEntry.objects.filter(payment_id=payment.public_id, kind="reversal").order_by("pk")
    )
    assert [r.refund_id for r in reversals] == [r.public_id for r in refunds]
    assert [r.base_amount for r in reversals] == [3_000, 3_333, 3_667]
    commission = payment.commission_amount
    cumulative = [half_up(commission * total, 10_000) for total in (3_000, 6_333, 10_000)]
    expected = [cumulative[0], cumulative[1] - cumulative[0], cumulative[2] - cumulative[1]]
    assert [-r.amount for r in reversals] == expected
    assert [r.commission_reversed for r in refunds] == expected
    # A full refund gives back exactly the commission charged, no cent more or less.
    assert sum(r.amount for r in reversals) == -commission
    assert all(r.merchant_id == merchant_a.pk and r.currency == "EUR" for r in reversals)

    with schema_context(merchant_a.schema_name):
        credits = VoucherLedgerEntry.objects.filter(
            kind=VoucherLedgerEntry.Kind.REFUND_CREDIT, reference=payment.public_id
        )
        assert credits.aggregate(total=Sum("amount"))["total"] == 10_000
        assert sorted(e.reason.split(":")[0] for e in credits) == sorted(
            f"Refund {r.public_id}" for r in refunds for _ in r.credits
        )
    assert voucher_state(merchant_a, first) == (6_000, 6_000, "active")
    assert voucher_state(merchant_a, second) == (4_000, 4_000, "active")


def test_each_refund_writes_a_payment_refunded_event_with_the_new_version(
    merchant_a, split_payment
):
    payment, _first, _second = split_payment
    made = refund(merchant_a, payment, 2_500)

    with schema_context(merchant_a.schema_name):
        event = Event.objects.get(type="payment.refunded")
    data = event.data_object
    assert (data["id"], data["object"], data["version"]) == (payment.public_id, "payment", 2)
    assert (data["amount"], data["amount_refunded"], data["refund_status"]) == (
        10_000,
        2_500,
        "partial",
    )
    assert data["refund"]["id"] == made.public_id
    assert data["refund"]["amount"] == 2_500
    assert event.livemode is False


def test_a_failing_step_rolls_back_every_other(merchant_a, split_payment, monkeypatch):
    payment, _first, second = split_payment

    def broken(**kwargs):
        raise RuntimeError("event store down")

    monkeypatch.setattr("checkout.refunds.event_record", broken)
    with pytest.raises(RuntimeError):
        refund(merchant_a, payment, 5_000)

    assert voucher_state(merchant_a, second) == (0, 0, "exhausted")
    assert not CommissionEntry.objects.filter(payment_id=payment.public_id, kind="reversal")
    with schema_context(merchant_a.schema_name):
        assert not Refund.objects.exists()
        assert Payment.objects.get(pk=payment.pk).version == 1
    assert not AuditLog.objects.filter(target_id=payment.public_id).exists()


def test_a_disabled_voucher_is_passed_over_for_the_others(merchant_a, split_payment):
    payment, first, second = split_payment
    with schema_context(merchant_a.schema_name):
        voucher_update(voucher_id=second.public_id, livemode=False, status="disabled")

    made = refund(merchant_a, payment, 5_000)
    assert made.credits == [
        {"voucher": first.public_id, "code_last4": first.code_last4, "amount": 5_000}
    ]
    with pytest.raises(RefundError) as refused:
        refund(merchant_a, payment, 2_000)  # only €10.00 of `first` is left to give back
    assert refused.value.code == RefundErrorCode.REFUND_VOUCHERS_CLOSED


@pytest.mark.parametrize("amount", [0, -5, 1.5, "100", True])
def test_invalid_amounts_are_refused(merchant_a, amount):
    payment, _vouchers = payment_make(merchant_a, vouchers=(1_000,))
    with pytest.raises(RefundError) as refused:
        refund(merchant_a, payment, amount)
    assert refused.value.code == RefundErrorCode.REFUND_AMOUNT_INVALID


def test_the_portal_actor_is_recorded(merchant_a, owner_a):
    payment, (voucher,) = payment_make(merchant_a, vouchers=(1_000,))
    made = refund(merchant_a, payment, 400, actor=owner_a)
    assert (made.source, made.actor_id, made.actor_email) == ("portal", owner_a.pk, owner_a.email)
    with schema_context(merchant_a.schema_name):
        entry = VoucherLedgerEntry.objects.get(kind="refund_credit", voucher_id=voucher.pk)
    assert entry.actor == owner_a.pk
    [audit] = AuditLog.objects.filter(merchant=merchant_a, action="payment.refunded")
    assert (audit.actor_type, audit.actor_id) == ("user", owner_a.pk)
    assert audit.actor_email == owner_a.email
    assert (audit.target_type, audit.target_id) == ("checkout.payment", payment.public_id)
    assert audit.details == {"refund": made.public_id, "amount": "€4.00", "source": "portal"}


def test_allocation_never_gives_a_voucher_more_than_its_debit():
    tenders = [
        {"voucher": "vch_a", "code_last4": "AAAA", "amount": 700},
        {"voucher": "vch_b", "code_last4": "BBBB", "amount": 300},
    ]
    assert refund_allocate(tenders=tenders, credited={"vch_b": 250}, closed=set(), amount=100) == [
        {"voucher": "vch_b", "code_last4": "BBBB", "amount": 50},
        {"voucher": "vch_a", "code_last4": "AAAA", "amount": 50},
    ]
    with pytest.raises(RefundError):
        refund_allocate(tenders=tenders, credited={"vch_a": 700}, closed={"vch_b"}, amount=1)

"""Refund credits, manual adjustments and voids: each a ledger entry, each with its own limits."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.vouchers.factories import VoucherFactory
from tests.vouchers.support import ledger_totals
from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.services import voucher_adjust, voucher_credit, voucher_redeem, voucher_void

pytestmark = pytest.mark.usefixtures("in_merchant_a")


def _pay(voucher, amount, reference="pay_1"):
    return voucher_redeem(
        tenders=[voucher.code], amount=amount, currency="EUR", livemode=False, reference=reference
    )


def test_credit_gives_back_up_to_what_was_redeemed_for_that_payment():
    voucher = VoucherFactory(amount=5000)
    _pay(voucher, 3000, "pay_1")
    _pay(voucher, 500, "pay_2")

    voucher_credit(voucher_id=voucher.public_id, amount=1000, reference="pay_1", livemode=False)
    voucher = voucher_credit(
        voucher_id=voucher.public_id, amount=2000, reference="pay_1", livemode=False
    )

    assert (voucher.balance, voucher.status, voucher.version) == (4500, "active", 5)
    with pytest.raises(VoucherError) as caught:
        voucher_credit(voucher_id=voucher.public_id, amount=1, reference="pay_1", livemode=False)
    assert caught.value.code == VoucherErrorCode.CREDIT_EXCEEDS_REDEEMED
    with pytest.raises(VoucherError) as caught:
        voucher_credit(voucher_id=voucher.public_id, amount=501, reference="pay_2", livemode=False)
    assert caught.value.code == VoucherErrorCode.CREDIT_EXCEEDS_REDEEMED
    with pytest.raises(VoucherError) as caught:
        voucher_credit(voucher_id=voucher.public_id, amount=1, reference="pay_9", livemode=False)
    assert caught.value.code == VoucherErrorCode.CREDIT_EXCEEDS_REDEEMED
    assert ledger_totals() == {voucher.pk: (4500, 4500)}


def test_credit_reactivates_an_exhausted_voucher():
    voucher = VoucherFactory(amount=800)
    _pay(voucher, 800)
    voucher = voucher_credit(
        voucher_id=voucher.public_id, amount=800, reference="pay_1", livemode=False
    )
    assert (voucher.balance, voucher.status) == (800, "active")
    entry = voucher.ledger_entries.last()
    assert (entry.kind, entry.amount, entry.balance_after, entry.reference) == (
        "refund_credit",
        800,
        800,
        "pay_1",
    )


def test_credit_to_a_voided_voucher_is_refused():
    voucher = VoucherFactory(amount=800)
    _pay(voucher, 300)
    voucher_void(voucher_id=voucher.public_id, livemode=False)
    with pytest.raises(VoucherError) as caught:
        voucher_credit(voucher_id=voucher.public_id, amount=300, reference="pay_1", livemode=False)
    assert caught.value.code == VoucherErrorCode.VOUCHER_CLOSED


def test_adjust_moves_the_balance_both_ways_with_reason_and_actor():
    voucher = VoucherFactory(amount=1000)

    voucher_adjust(
        voucher_id=voucher.public_id, amount=250, reason="goodwill", actor=7, livemode=False
    )
    voucher = voucher_adjust(
        voucher_id=voucher.public_id, amount=-1250, reason="fraud", actor=8, livemode=False
    )

    assert (voucher.balance, voucher.status, voucher.version) == (0, "exhausted", 3)
    assert list(
        voucher.ledger_entries.filter(kind="adjustment").values_list(
            "amount", "balance_after", "reason", "actor"
        )
    ) == [(250, 1250, "goodwill", 7), (-1250, 0, "fraud", 8)]


@pytest.mark.parametrize(
    ("amount", "reason", "code", "param"),
    [
        (0, "typo", VoucherErrorCode.AMOUNT_INVALID, "amount"),
        (10, "  ", VoucherErrorCode.REASON_REQUIRED, "reason"),
        (10, "r" * 501, VoucherErrorCode.REASON_REQUIRED, "reason"),
        (-1001, "too much", VoucherErrorCode.INSUFFICIENT_BALANCE, "amount"),
    ],
)
def test_adjust_refuses_bad_input_and_changes_nothing(amount, reason, code, param):
    voucher = VoucherFactory(amount=1000)
    with pytest.raises(VoucherError) as caught:
        voucher_adjust(
            voucher_id=voucher.public_id, amount=amount, reason=reason, actor=1, livemode=False
        )
    assert (caught.value.code, caught.value.param) == (code, param)
    voucher.refresh_from_db()
    assert (voucher.balance, voucher.version, voucher.ledger_entries.count()) == (1000, 1, 1)


def test_void_empties_and_disables_a_voucher_once():
    voucher = VoucherFactory(amount=1000)
    _pay(voucher, 400)

    voided = voucher_void(voucher_id=voucher.public_id, livemode=False, reason="lost", actor=3)
    again = voucher_void(voucher_id=voucher.public_id, livemode=False)

    assert (voided.balance, voided.status, voided.version) == (0, "disabled", 3)
    assert again.version == 3
    assert list(voucher.ledger_entries.values_list("kind", "amount", "balance_after")) == [
        ("issue", 1000, 1000),
        ("redeem", -400, 600),
        ("void", -600, 0),
    ]


def test_closed_vouchers_cannot_be_adjusted():
    voucher = VoucherFactory(expires_at=timezone.now() + datetime.timedelta(hours=1))
    voucher_void(voucher_id=voucher.public_id, livemode=False)
    with pytest.raises(VoucherError) as caught:
        voucher_adjust(voucher_id=voucher.public_id, amount=5, reason="x", actor=1, livemode=False)
    assert caught.value.code == VoucherErrorCode.VOUCHER_CLOSED


@pytest.mark.parametrize("livemode", [False, True])
def test_changes_by_id_answer_not_found_for_unknown_ids_and_the_other_mode(livemode):
    voucher = VoucherFactory(livemode=not livemode)
    for voucher_id in ["vch_unknown", voucher.public_id]:
        calls = [
            lambda: voucher_void(voucher_id=voucher_id, livemode=livemode),  # noqa: B023
            lambda: voucher_adjust(
                voucher_id=voucher_id,  # noqa: B023
                amount=1,
                reason="x",
                actor=1,
                livemode=livemode,
            ),
            lambda: voucher_credit(
                voucher_id=voucher_id,  # noqa: B023
                amount=1,
                reference="p",
                livemode=livemode,
            ),
        ]
        for call in calls:
            with pytest.raises(VoucherError) as caught:
                call()
            assert caught.value.code == VoucherErrorCode.VOUCHER_NOT_FOUND

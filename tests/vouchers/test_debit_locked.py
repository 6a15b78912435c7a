"""The checkout's debit of a locked voucher (vouchers.locks.voucher_debit_locked_statement) is
sent with the payment's COMMIT in one round trip, so it cannot be looked at before the commit: a
debit that does not take must abort the transaction by itself."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from superpayment.pipeline import statements_send
from tests.vouchers.factories import VoucherFactory
from vouchers.locks import voucher_debit_locked_statement
from vouchers.models import Voucher, VoucherLedgerEntry

pytestmark = pytest.mark.usefixtures("in_merchant_a")


def _debit(voucher: Voucher, amount: int) -> list[list[tuple]]:
    return statements_send(
        [
            voucher_debit_locked_statement(
                voucher=voucher,
                amount=amount,
                redemption_limit=2**31 - 1,
                reference="pay_locked",
                order_id="ORDER-L",
                now=timezone.now(),
            )
        ]
    )


def test_a_debit_that_takes_writes_its_ledger_entry():
    voucher = VoucherFactory(amount=5_000)
    with transaction.atomic():
        _debit(voucher, 1_200)
    entry = VoucherLedgerEntry.objects.get(voucher=voucher, reference="pay_locked")
    assert (entry.amount, entry.balance_after) == (-1_200, 3_800)
    assert Voucher.objects.get(pk=voucher.pk).balance == 3_800


@pytest.mark.parametrize("change", ["disabled", "short"])
def test_a_debit_that_does_not_take_aborts_the_transaction(change):
    voucher = VoucherFactory(amount=5_000)
    if change == "disabled":
        Voucher.objects.filter(pk=voucher.pk).update(status=Voucher.Status.DISABLED)
    amount = 6_000 if change == "short" else 1_000

    with pytest.raises(IntegrityError, match="balance_after"), transaction.atomic():
        _debit(voucher, amount)

    assert Voucher.objects.get(pk=voucher.pk).balance == 5_000
    assert not VoucherLedgerEntry.objects.filter(reference="pay_locked").exists()

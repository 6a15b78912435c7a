"""A merchant's vouchers do not exist for services running in another merchant's schema."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from tests.vouchers.factories import VoucherFactory
from vouchers.errors import VoucherError, VoucherErrorCode
from vouchers.models import Voucher
from vouchers.selectors import voucher_get, voucher_list
from vouchers.services import (
    voucher_adjust,
    voucher_balance,
    voucher_credit,
    voucher_redeem,
    voucher_void,
)

pytestmark = pytest.mark.django_db


def test_a_voucher_of_merchant_a_is_not_found_from_merchant_b(merchant_a, merchant_b):
    with schema_context(merchant_a.schema_name):
        voucher = VoucherFactory(amount=1000)

    with schema_context(merchant_b.schema_name):
        by_id = [
            lambda: voucher_get(public_id=voucher.public_id, livemode=False),
            lambda: voucher_void(voucher_id=voucher.public_id, livemode=False),
            lambda: voucher_adjust(
                voucher_id=voucher.public_id, amount=5, reason="x", actor=1, livemode=False
            ),
            lambda: voucher_credit(
                voucher_id=voucher.public_id, amount=5, reference="p", livemode=False
            ),
        ]
        for call in by_id:
            with pytest.raises(VoucherError) as caught:
                call()
            assert caught.value.code == VoucherErrorCode.VOUCHER_NOT_FOUND
        by_code = [
            lambda: voucher_balance(code=voucher.code, livemode=False),
            lambda: voucher_redeem(
                tenders=[voucher.code],
                amount=100,
                currency="EUR",
                livemode=False,
                reference="pay_1",
            ),
        ]
        for call in by_code:
            with pytest.raises(VoucherError) as caught:
                call()
            assert caught.value.code == VoucherErrorCode.VOUCHER_NOT_REDEEMABLE
        assert list(voucher_list(livemode=False)) == []

    with schema_context(merchant_a.schema_name):
        stored = Voucher.objects.get(pk=voucher.pk)
        assert (stored.balance, stored.version, stored.status) == (1000, 1, "active")

"""Vouchers for tests, issued through the service so each one starts with its ledger entry."""

from __future__ import annotations

import factory

from vouchers.models import Voucher
from vouchers.services import voucher_issue


class VoucherFactory(factory.Factory):
    class Meta:
        model = Voucher

    currency = "EUR"
    amount = 10_000
    livemode = False
    rules = None
    metadata = None
    valid_from = None
    expires_at = None

    @classmethod
    def _create(cls, model_class: type[Voucher], **kwargs) -> Voucher:
        return voucher_issue(**kwargs)

"""Expiry: the beat task takes the remaining balance off every voucher past its expiry."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from tests.vouchers.factories import VoucherFactory
from tests.vouchers.support import ledger_totals
from vouchers import balance_changes
from vouchers.services import voucher_expire_due

pytestmark = pytest.mark.usefixtures("in_merchant_a")


def test_expire_due_expires_only_vouchers_past_their_expiry():
    now = timezone.now()
    due = VoucherFactory(amount=1200, expires_at=now + datetime.timedelta(hours=1))
    later = VoucherFactory(amount=900, expires_at=now + datetime.timedelta(days=2))
    never = VoucherFactory(amount=500)

    expired = voucher_expire_due(now=now + datetime.timedelta(hours=2))

    assert expired == 1
    for voucher in (due, later, never):
        voucher.refresh_from_db()
    assert (due.status, due.balance, due.version) == ("expired", 0, 2)
    assert (later.status, later.balance) == ("active", 900)
    assert (never.status, never.balance) == ("active", 500)
    entry = due.ledger_entries.last()
    assert (entry.kind, entry.amount, entry.balance_after) == ("expiry", -1200, 0)
    assert ledger_totals() == {due.pk: (0, 0), later.pk: (900, 900), never.pk: (500, 500)}


def test_expire_due_runs_in_batches_and_twice_changes_nothing(monkeypatch):
    monkeypatch.setattr(balance_changes, "EXPIRY_BATCH_SIZE", 3)
    now = timezone.now()
    for _ in range(7):
        VoucherFactory(expires_at=now + datetime.timedelta(minutes=1))

    later = now + datetime.timedelta(minutes=5)
    assert voucher_expire_due(now=later) == 7
    assert voucher_expire_due(now=later) == 0
    assert all(balance == total == 0 for balance, total in ledger_totals().values())

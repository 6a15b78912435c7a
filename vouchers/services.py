"""The only code that changes a voucher's balance."""

from __future__ import annotations

import datetime

import structlog
from django.db import transaction
from django.utils import timezone

from vouchers.models import Voucher, VoucherLedgerEntry

log = structlog.get_logger(__name__)
EXPIRY_BATCH_SIZE = 500


@transaction.atomic
def voucher_issue(
    *,
    code: str,
    currency: str,
    amount: int,
    livemode: bool = False,
    expires_at: datetime.datetime | None = None,
) -> Voucher:
    voucher = Voucher.objects.create(
        code=code,
        currency=currency,
        initial_amount=amount,
        balance=amount,
        livemode=livemode,
        expires_at=expires_at,
    )
    VoucherLedgerEntry.objects.create(
        voucher=voucher, kind=VoucherLedgerEntry.Kind.ISSUE, amount=amount, balance_after=amount
    )
    return voucher


def voucher_expire_due(*, now: datetime.datetime | None = None) -> int:
    """Expire every active voucher past its expiry: its remaining balance leaves by a ledger
    entry. Batches commit one by one; rows another transaction holds are left for the next run."""
    now = now or timezone.now()
    expired = 0
    while True:
        with transaction.atomic():
            due = list(
                Voucher.objects.select_for_update(skip_locked=True)
                .filter(status=Voucher.Status.ACTIVE, expires_at__lte=now)
                .order_by("pk")[:EXPIRY_BATCH_SIZE]
            )
            for voucher in due:
                VoucherLedgerEntry.objects.create(
                    voucher=voucher,
                    kind=VoucherLedgerEntry.Kind.EXPIRY,
                    amount=-voucher.balance,
                    balance_after=0,
                )
                voucher.balance = 0
                voucher.status = Voucher.Status.EXPIRED
                voucher.version += 1
                voucher.save(update_fields=["balance", "status", "version", "updated_at"])
        expired += len(due)
        if len(due) < EXPIRY_BATCH_SIZE:
            break
    if expired:
        log.info("vouchers_expired", count=expired)
    return expired

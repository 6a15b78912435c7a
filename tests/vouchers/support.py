"""Helpers for voucher tests that need committed rows."""

from __future__ import annotations

from django.db import connection
from django.db.models import Sum

from vouchers.models import Voucher


def vouchers_purge() -> None:
    """Remove every voucher and ledger entry of the current schema. The ledger refuses DELETE
    (it is append-only), so committed test rows leave by TRUNCATE."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE vouchers_voucherledgerentry, vouchers_voucher")


def ledger_totals() -> dict[int, tuple[int, int]]:
    """voucher pk -> (balance, sum of its ledger entries)."""
    return {
        row["pk"]: (row["balance"], row["ledger_total"])
        for row in Voucher.objects.annotate(ledger_total=Sum("ledger_entries__amount")).values(
            "pk", "balance", "ledger_total"
        )
    }

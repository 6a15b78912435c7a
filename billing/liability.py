"""Voucher liability snapshots: each merchant's unspent live voucher balances, read through the
vouchers app's selector inside that merchant's schema and stored in the public schema."""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.models import VoucherLiabilitySnapshot
from tenants.models import Merchant
from tenants.selectors import merchant_active
from vouchers.selectors import voucher_liability_outstanding, voucher_liability_summary

FIELDS = (
    "voucher_count",
    "outstanding",
    "expiring_30d",
    "expiring_90d",
    "age_0_30",
    "age_31_90",
    "age_91_180",
    "age_181_365",
    "age_over_365",
)


@transaction.atomic
def liability_snapshot_merchant(
    *, merchant: Merchant, now: datetime | None = None
) -> list[VoucherLiabilitySnapshot]:
    """Compute and store today's (UTC) snapshot for one merchant; computing again the same day
    replaces it. A currency whose vouchers are all spent gets a row of zeros that day."""
    now = now or timezone.now()
    as_of = now.astimezone(UTC).date()
    with schema_context(merchant.schema_name):
        rows = voucher_liability_summary(now=now)
    connection.set_schema_to_public()
    seen = {row["currency"] for row in rows}
    stale = VoucherLiabilitySnapshot.objects.filter(merchant=merchant, as_of=as_of).exclude(
        currency__in=seen
    )
    stale.update(**dict.fromkeys(FIELDS, 0), computed_at=now)
    snapshots = []
    for row in rows:
        snapshot, _ = VoucherLiabilitySnapshot.objects.update_or_create(
            merchant=merchant,
            currency=row["currency"],
            as_of=as_of,
            defaults={**{name: row[name] for name in FIELDS}, "computed_at": now},
        )
        snapshots.append(snapshot)
    return snapshots


# --- periodic work (duework.kinds.LIABILITY_SNAPSHOT) -------------------------------------------
#
# A snapshot is due for a merchant, at the nightly slot, when it has live vouchers outstanding
# (their ages and what expires within 30/90 days move every day) or when its live balances grew
# since the last snapshot (an issue, a refund credit, an enabled voucher: vouchers.due_work).
# After a snapshot the next one is due tomorrow while something is outstanding; otherwise the
# merchant drops out of the index, its last snapshot (zeros) standing until a balance grows.
# Spending and expiry only shrink balances, and only a merchant already in the index has any.


def liability_snapshot_due() -> int:
    """Tonight's snapshot of the active merchant (run by duework in its schema)."""
    return len(liability_snapshot_merchant(merchant=merchant_active()))


def liability_next_due(*, now: datetime) -> datetime | None:
    """The next nightly slot while the active merchant has live vouchers outstanding."""
    from duework.kinds import KINDS, LIABILITY_SNAPSHOT

    if not voucher_liability_outstanding():
        return None
    return KINDS[LIABILITY_SNAPSHOT].next_slot(now=now)

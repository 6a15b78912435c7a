"""Helpers for voucher tests that need committed rows."""

from __future__ import annotations

from django.db import connection
from django.db.models import Sum

from vouchers.models import Voucher


def vouchers_purge() -> None:
    """Remove every voucher and ledger entry of the current schema. The ledger refuses DELETE
    (it is append-only), so committed test rows leave by TRUNCATE."""
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE vouchers_voucherledgerentry, vouchers_voucher CASCADE")
    voucher_events_purge()


def voucher_events_purge() -> None:
    """Remove the webhook events (and their deliveries) the voucher services recorded in the
    current schema, with their rows in the shared delivery queue."""
    from webhooks.models import Delivery, DeliveryAttempt, Event
    from webhooks.queue.models import DueDelivery

    DeliveryAttempt.objects.all().delete()
    delivery_ids = list(Delivery.objects.values_list("pk", flat=True))
    Delivery.objects.all().delete()
    Event.objects.all().delete()
    DueDelivery.objects.filter(
        schema_name=connection.schema_name, delivery_id__in=delivery_ids
    ).delete()


def api_key_purge(key) -> None:
    """Remove a committed test key, its audit rows and the user who made it."""
    from tenants.models import AuditLog, User

    AuditLog.objects.filter(target_type="tenants.apikey", target_id=str(key.pk)).delete()
    key.delete()
    User.objects.filter(pk=key.created_by_id).delete()


def ledger_totals() -> dict[int, tuple[int, int]]:
    """voucher pk -> (balance, sum of its ledger entries)."""
    return {
        row["pk"]: (row["balance"], row["ledger_total"])
        for row in Voucher.objects.annotate(ledger_total=Sum("ledger_entries__amount")).values(
            "pk", "balance", "ledger_total"
        )
    }

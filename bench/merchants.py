"""A bench merchant gone without a trace, whatever an earlier, interrupted run left behind."""

from __future__ import annotations

from django.db import connection, transaction

from tenants.models import Merchant
from tenants.services import merchant_schema_name


def bench_merchant_drop(slug: str) -> None:
    """Drop the merchant `slug`, its schema, its test-mode commission entries and its queued
    webhook deliveries (rows keyed by schema name outlive a schema dropped by hand)."""
    from billing.models import CommissionEntry
    from webhooks.queue.models import DueDelivery

    connection.set_schema_to_public()
    schema = merchant_schema_name(slug)
    merchant = Merchant.objects.filter(slug=slug).first()
    if merchant is not None:
        with transaction.atomic():
            # The commission ledger is append-only by trigger, which this cleanup skips.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL session_replication_role = replica")
            CommissionEntry.objects.filter(merchant=merchant, livemode=False).delete()
        merchant.delete(force_drop=True)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    DueDelivery.objects.filter(schema_name=schema).delete()

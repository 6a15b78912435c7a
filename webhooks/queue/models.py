"""Due deliveries of every merchant, in the public schema.

A row exists while its delivery still has an attempt to make. It is written in the same
transaction as the delivery (one PostgreSQL transaction spans the merchant's schema and public,
since search_path is "merchant, public"), so a committed event is never lost, whatever happens to
the Celery message. The sweeper finds due rows by `due_at` alone: O(due deliveries), never
O(merchants).
"""

from __future__ import annotations

from django.db import models


class DueDelivery(models.Model):
    schema_name = models.CharField(max_length=63)
    delivery_id = models.BigIntegerField()
    due_at = models.DateTimeField()
    # A worker is attempting the delivery until then (in flight); longer than the HTTP timeout.
    leased_until = models.DateTimeField(null=True, blank=True)
    # A task message was last sent then; the sweeper does not send another one soon after.
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "webhooks_due_delivery"
        constraints = [
            models.UniqueConstraint(
                fields=["schema_name", "delivery_id"], name="webhooks_due_delivery_unique"
            )
        ]
        indexes = [models.Index(fields=["due_at"], name="webhooks_due_at_idx")]

    def __str__(self) -> str:
        return f"{self.schema_name}:{self.delivery_id} due {self.due_at:%Y-%m-%d %H:%M:%S}"

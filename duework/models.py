"""Each merchant's next due time per kind of periodic work, in the public schema.

A row exists while the merchant has work of that kind to do at `due_at` or later. Services write
it in the same transaction as the rows that make the work (a checkout session, a voucher with an
expiry), and only ever move it earlier (duework.services.due_work_schedule). The beat tick finds
due rows by `due_at` alone: O(merchants with work due), never O(merchants).
"""

from __future__ import annotations

from django.db import models


class DueWork(models.Model):
    schema_name = models.CharField(max_length=63)
    kind = models.CharField(max_length=32)
    due_at = models.DateTimeField()
    # A task is doing this work until then; the tick claims the row again only after that.
    leased_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "duework_due"
        constraints = [
            models.UniqueConstraint(fields=["schema_name", "kind"], name="duework_due_unique")
        ]
        indexes = [models.Index(fields=["due_at"], name="duework_due_at_idx")]

    def __str__(self) -> str:
        return f"{self.schema_name}:{self.kind} due {self.due_at:%Y-%m-%d %H:%M:%S}"

"""Idempotency keys of the merchant API: one row per (merchant, mode, key), in the public schema.

A POST sent with `Idempotency-Key` claims its row before the work starts (status IN_PROGRESS) and
stores its answer when the work ends (COMPLETE), so a retry with the same key replays the first
answer instead of repeating the work. See `superpayment.api.idempotency`.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class IdempotencyKey(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETE = "complete", "Complete"

    merchant = models.ForeignKey(
        "tenants.Merchant", on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    livemode = models.BooleanField()
    key = models.CharField(max_length=255)
    # SHA-256 of the method, path and canonical JSON body: the same key with another request
    # is refused.
    request_hash = models.CharField(max_length=64)
    request_method = models.CharField(max_length=8)
    request_path = models.CharField(max_length=500)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    locked_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "livemode", "key"], name="idempotency_key_unique_per_mode"
            ),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"

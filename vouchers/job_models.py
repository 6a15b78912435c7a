"""Bulk issue jobs: a large bulk issue runs in the background and reports its progress."""

from __future__ import annotations

import secrets

from django.db import models

JOB_PUBLIC_ID_PREFIX = "vjob_"


def voucher_job_public_id_new() -> str:
    return JOB_PUBLIC_ID_PREFIX + secrets.token_hex(12)


class VoucherJob(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    public_id = models.CharField(
        max_length=32, unique=True, default=voucher_job_public_id_new, editable=False
    )
    livemode = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    count = models.PositiveIntegerField()
    issued_count = models.PositiveIntegerField(default=0)
    # The validated issue terms: currency, amount, prefix, length, valid_from, expires_at (ISO
    # text), rules, metadata.
    terms = models.JSONField(default=dict)
    error = models.CharField(max_length=500, blank=True)
    created_by = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(issued_count__lte=models.F("count")),
                name="voucher_job_issued_lte_count",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.issued_count}/{self.count} ({self.status})"

    @property
    def progress(self) -> float:
        return self.issued_count / self.count if self.count else 1.0

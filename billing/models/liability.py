"""Voucher liability: what merchants owe their shoppers in unspent voucher balances, copied into
the public schema by the nightly job (or on demand for one merchant) for the finance console."""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class VoucherLiabilitySnapshot(models.Model):
    """Outstanding live voucher balances of one merchant in one currency on `as_of` (UTC date).

    Ageing buckets split the outstanding balance by the vouchers' issue date; expiring columns
    hold the balance of active vouchers whose expiry falls within 30 / 90 days of computation."""

    merchant = models.ForeignKey("tenants.Merchant", on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    as_of = models.DateField()
    computed_at = models.DateTimeField(default=timezone.now)
    voucher_count = models.PositiveIntegerField(default=0)
    outstanding = models.BigIntegerField(default=0)
    expiring_30d = models.BigIntegerField(default=0)
    expiring_90d = models.BigIntegerField(default=0)
    age_0_30 = models.BigIntegerField(default=0)
    age_31_90 = models.BigIntegerField(default=0)
    age_91_180 = models.BigIntegerField(default=0)
    age_181_365 = models.BigIntegerField(default=0)
    age_over_365 = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["-as_of", "merchant_id", "currency"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "currency", "as_of"], name="liability_one_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} {self.currency} {self.as_of}: {self.outstanding}"

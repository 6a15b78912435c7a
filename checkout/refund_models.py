"""Refunds live in each merchant's schema, beside the payments they give back.

A refund is one give-back of part or all of a payment: the amount went back to the payment's
vouchers (the ledger entries carry the payment id as their reference), the platform's commission
was credited in proportion (billing's commission ledger), and a `payment.refunded` event was
written — all in the refund's transaction. Several partial refunds of one payment are allowed up
to the amount paid; a payment's refunded amount is the sum of its refunds.
"""

from __future__ import annotations

import secrets

from django.db import models

REFUND_PREFIX = "re_"


def refund_public_id_new() -> str:
    return REFUND_PREFIX + secrets.token_hex(12)


class Refund(models.Model):
    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"

    class Source(models.TextChoices):
        API = "api", "API"
        PORTAL = "portal", "Portal"

    public_id = models.CharField(
        max_length=40, unique=True, default=refund_public_id_new, editable=False
    )
    payment = models.ForeignKey(
        "checkout.Payment", on_delete=models.PROTECT, related_name="refunds"
    )
    livemode = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUCCEEDED)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    reason = models.CharField(max_length=500, blank=True)
    # [{"voucher": "vch_…", "code_last4": "ABCD", "amount": 2000}, …] in the order credited.
    credits = models.JSONField(default=list)
    # What the platform's commission went down by for this refund (minor units, >= 0).
    commission_reversed = models.BigIntegerField(default=0)
    source = models.CharField(max_length=8, choices=Source.choices)
    # The portal user who refunded (public-schema user id and email); empty for the API.
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_email = models.CharField(max_length=254, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="refund_amount_gt_0"),
            models.CheckConstraint(
                condition=models.Q(commission_reversed__gte=0),
                name="refund_commission_reversed_gte_0",
            ),
        ]
        indexes = [models.Index(fields=["payment", "created_at"], name="refund_payment_idx")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount} {self.currency}"

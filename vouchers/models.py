"""Vouchers live in each merchant's schema. Their balance moves only through vouchers.services,
and every move is an append-only ledger entry carrying the resulting balance."""

from __future__ import annotations

from django.db import models


class Voucher(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"
        EXPIRED = "expired", "Expired"
        EXHAUSTED = "exhausted", "Exhausted"

    # Normalised form: upper case, no dashes or spaces. Shown grouped (XXXX-XXXX-...).
    code = models.CharField(max_length=64, unique=True)
    currency = models.CharField(max_length=3)
    initial_amount = models.BigIntegerField()
    balance = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    livemode = models.BooleanField(default=False)
    valid_from = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    rules = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    # Raised on every change, so webhook receivers can drop an event older than one applied.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__gte=0), name="voucher_balance_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(initial_amount__gt=0), name="voucher_initial_amount_gt_0"
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                name="voucher_active_expiry_idx",
                condition=models.Q(status="active", expires_at__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"…{self.code[-4:]} ({self.balance} {self.currency})"


class VoucherLedgerEntry(models.Model):
    class Kind(models.TextChoices):
        ISSUE = "issue", "Issue"
        REDEEM = "redeem", "Redemption"
        REFUND_CREDIT = "refund_credit", "Refund credit"
        ADJUSTMENT = "adjustment", "Manual adjustment"
        VOID = "void", "Void"
        EXPIRY = "expiry", "Expiry"

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="ledger_entries")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    amount = models.BigIntegerField(help_text="Signed change in minor units")
    balance_after = models.BigIntegerField()
    reason = models.CharField(max_length=500, blank=True)
    reference = models.CharField(max_length=64, blank=True, help_text="Payment or refund id")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance_after__gte=0), name="ledger_balance_after_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d}"

"""Vouchers live in each merchant's schema. Their balance moves only through vouchers.services,
and every move is an append-only ledger entry carrying the resulting balance."""

from __future__ import annotations

import secrets

from django.db import models

from vouchers.codes import code_format, code_last4

PUBLIC_ID_PREFIX = "vch_"


def voucher_public_id_new() -> str:
    """`vch_` + 96 random bits as hex: unique in practice, and unique by constraint."""
    return PUBLIC_ID_PREFIX + secrets.token_hex(12)


class Voucher(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        DISABLED = "disabled", "Disabled"
        EXPIRED = "expired", "Expired"
        EXHAUSTED = "exhausted", "Exhausted"

    public_id = models.CharField(
        max_length=32, unique=True, default=voucher_public_id_new, editable=False
    )
    # Normalised form: upper case, no dashes or spaces. Shown grouped (XXXX-XXXX-...).
    code = models.CharField(max_length=64, unique=True)
    currency = models.CharField(max_length=3)
    initial_amount = models.BigIntegerField()
    balance = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    livemode = models.BooleanField(default=False)
    valid_from = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    # Shapes declared in vouchers.rules; rules are fixed once the voucher is issued.
    rules = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    redemption_count = models.IntegerField(default=0)
    # The user (public auth_user) who issued it. A plain id, not a foreign key: the audit value
    # must outlive the user, and a cross-schema key would make deleting a user depend on every
    # merchant schema, which Django's deletion collector (one search_path) cannot see.
    created_by = models.BigIntegerField(null=True, blank=True)
    # The bulk issue job (`vjob_…`) that issued it, if any.
    job_id = models.CharField(max_length=32, blank=True, default="")
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
            models.CheckConstraint(
                condition=models.Q(redemption_count__gte=0), name="voucher_redemptions_gte_0"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["active", "disabled", "expired", "exhausted"]),
                name="voucher_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(valid_from__isnull=True)
                | models.Q(expires_at__isnull=True)
                | models.Q(valid_from__lt=models.F("expires_at")),
                name="voucher_validity_ordered",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                name="voucher_active_expiry_idx",
                condition=models.Q(status="active", expires_at__isnull=False),
            ),
            models.Index(fields=["livemode", "-created_at"], name="voucher_list_idx"),
            models.Index(fields=["job_id"], name="voucher_job_idx", condition=~models.Q(job_id="")),
        ]

    def __str__(self) -> str:
        return f"…{self.code_last4} ({self.balance} {self.currency})"

    @property
    def code_last4(self) -> str:
        return code_last4(self.code)

    @property
    def code_display(self) -> str:
        return code_format(self.code)


class VoucherLedgerEntry(models.Model):
    """One balance move. Rows are only ever inserted: a database trigger (migration 0002)
    refuses UPDATE and DELETE."""

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
    reference = models.CharField(max_length=64, blank=True, help_text="Payment id")
    order_id = models.CharField(max_length=64, blank=True)
    actor = models.BigIntegerField(null=True, blank=True, help_text="User id (public schema)")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance_after__gte=0), name="ledger_balance_after_gte_0"
            ),
            # Each kind moves the balance one way only.
            models.CheckConstraint(
                condition=models.Q(kind="issue", amount__gt=0)
                | models.Q(kind="redeem", amount__lt=0)
                | models.Q(kind="refund_credit", amount__gt=0)
                | (models.Q(kind="adjustment") & ~models.Q(amount=0))
                | models.Q(kind__in=["void", "expiry"], amount__lte=0),
                name="ledger_amount_sign_by_kind",
            ),
            models.CheckConstraint(
                condition=~models.Q(kind="adjustment") | ~models.Q(reason=""),
                name="ledger_adjustment_has_reason",
            ),
        ]
        indexes = [
            models.Index(
                fields=["voucher", "reference"],
                name="ledger_reference_idx",
                condition=~models.Q(reference=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount:+d}"


# Holds live in their own module (vouchers.holds is their service); imported here so Django
# registers the model with the app.
from vouchers.hold_models import VoucherHold  # noqa: E402, F401
from vouchers.job_models import VoucherJob  # noqa: E402, F401

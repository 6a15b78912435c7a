"""Checkout sessions and payments live in each merchant's schema.

A session is one attempt to pay one order: amount, currency, order id, the origin of the page it
was opened on, and a status (open -> completed | expired). A payment is the outcome of a
completed session: the vouchers debited, the commission (a snapshot of the plan used), and the
order id, paid at most once per mode.
"""

from __future__ import annotations

import secrets

from django.db import models

SESSION_PREFIX = "cs_"
PAYMENT_PREFIX = "pay_"


def session_public_id_new() -> str:
    """`cs_` + 128 random bits: the id is also what lets a browser open the payment frame."""
    return SESSION_PREFIX + secrets.token_hex(16)


def payment_public_id_new() -> str:
    return PAYMENT_PREFIX + secrets.token_hex(12)


def confirm_token_new() -> str:
    return secrets.token_urlsafe(24)


class CheckoutSession(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        COMPLETED = "completed", "Completed"
        EXPIRED = "expired", "Expired"

    class Source(models.TextChoices):
        PAGE = "page", "From the page (publishable key)"
        SIGNED = "signed", "Signed tag"
        SERVER = "server", "Created with the secret key"

    public_id = models.CharField(
        max_length=40, unique=True, default=session_public_id_new, editable=False
    )
    livemode = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    source = models.CharField(max_length=8, choices=Source.choices)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    order_id = models.CharField(max_length=64)
    # The page origin the widget opened it on (`https://shop.example`); empty until opened.
    origin = models.CharField(max_length=255, blank=True)
    # The publishable key (public schema ApiKey id) it was opened with; its allowed origins may
    # frame the payment page.
    publishable_key_id = models.BigIntegerField(null=True, blank=True)
    success_url = models.URLField(max_length=2000, blank=True)
    cancel_url = models.URLField(max_length=2000, blank=True)
    # Handed to the payment frame only; a confirm must carry it (and a retried one finds the
    # payment it already made).
    confirm_token = models.CharField(max_length=64, default=confirm_token_new, editable=False)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    # Raised on every change, so webhook receivers can drop an event older than one applied.
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="session_amount_gt_0"),
            models.CheckConstraint(
                condition=models.Q(status__in=["open", "completed", "expired"]),
                name="session_status_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                name="session_open_expiry_idx",
                condition=models.Q(status="open"),
            ),
            models.Index(fields=["livemode", "order_id"], name="session_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount} {self.currency} ({self.status})"


class Payment(models.Model):
    class Status(models.TextChoices):
        SUCCEEDED = "succeeded", "Succeeded"

    public_id = models.CharField(
        max_length=40, unique=True, default=payment_public_id_new, editable=False
    )
    session = models.OneToOneField(
        CheckoutSession, on_delete=models.PROTECT, related_name="payment"
    )
    livemode = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SUCCEEDED)
    amount = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    order_id = models.CharField(max_length=64)
    # [{"voucher": "vch_…", "code_last4": "ABCD", "amount": 5000}, …] in the order debited.
    tenders = models.JSONField(default=list)
    # The platform's commission on this payment and the plan it was computed with (a snapshot:
    # later plan changes never rewrite it).
    commission_amount = models.BigIntegerField()
    commission_plan = models.JSONField(default=dict)
    # Set by the refund that gives back the last of the amount: the order id is then free for a
    # new payment (payment_order_once leaves such payments out).
    # (db_default: the previous release's code, running during a rollout, does not send it.)
    fully_refunded = models.BooleanField(default=False, db_default=False)
    version = models.PositiveIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_gt_0"),
            # One order id is paid at most once per merchant (schema) and mode, unless that
            # payment was refunded in full.
            models.UniqueConstraint(
                fields=["livemode", "order_id"],
                condition=models.Q(fully_refunded=False),
                name="payment_order_once",
            ),
        ]
        indexes = [models.Index(fields=["livemode", "-created_at"], name="payment_list_idx")]

    def __str__(self) -> str:
        return f"{self.public_id} {self.amount} {self.currency}"


class RememberedVoucher(models.Model):
    """A voucher a shopper asked this device to remember. The device holds only a random token
    (in a cookie of the platform's own origin); the row holds its SHA-256 digest."""

    token_hash = models.CharField(max_length=64, unique=True)
    voucher = models.ForeignKey(
        "vouchers.Voucher", on_delete=models.CASCADE, related_name="remembered_on"
    )
    livemode = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"remembered {self.voucher_id}"


from checkout.refund_models import Refund  # noqa: E402, F401 - refunds: their own module
